"""The indicators day by day: the window cut at local midnights of the service time zone."""

import time
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.metrics.indicators import conversation_indicators, csat_indicators, ticket_indicators
from handoff import BusinessHours


# ---- trends --------------------------------------------------------------------------
def day_bounds(since: float, now: float, tz: str) -> list[tuple[str, float, float | None]]:
    """The window cut at local midnights of `tz`: (date, start, end) per day, end exclusive,
    None for the day that runs up to now. The first and last day may be partial."""
    zone = ZoneInfo(tz)
    days, start = [], since
    while True:
        local = datetime.fromtimestamp(start, zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), dtime(0), zone).timestamp()
        days.append((local.date().isoformat(), start, midnight if midnight <= now else None))
        if midnight > now:
            return days
        start = midnight


def trend(
    conn: Connection,
    since: float,
    now: float | None = None,
    hours: BusinessHours | None = None,
) -> list[dict[str, Any]]:
    """The window's indicators day by day (local days of the service time zone), computed by
    the same functions as the headline figures: a day is a shorter window whose cohorts end at
    the next midnight, outcomes as of now. The rows partition the window, so their counts add
    up to the headline's. The queue is a now-only figure and has no daily value."""
    now = time.time() if now is None else now
    hours = hours or BusinessHours()
    return [
        {
            "day": day,
            "since": start,
            "until": end if end is not None else now,
            "partial": start != _midnight(start, hours.tz) or end is None,
            **conversation_indicators(conn, start, now, until=end),
            **ticket_indicators(conn, start, now, hours, until=end),
            **csat_indicators(conn, start, now, until=end),
        }
        for day, start, end in day_bounds(since, now, hours.tz)
    ]


def _midnight(ts: float, tz: str) -> float:
    zone = ZoneInfo(tz)
    return datetime.combine(datetime.fromtimestamp(ts, zone).date(), dtime(0), zone).timestamp()
