"""SLA clocks that only run during business hours, in the service desk's time zone."""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# first-response targets in business minutes, per priority
FIRST_RESPONSE_MINUTES = {"urgent": 5, "high": 15, "normal": 60, "low": 240}


@dataclass(frozen=True)
class BusinessHours:
    tz: str = "Asia/Shanghai"
    opens: time = time(9, 0)
    closes: time = time(21, 0)
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))  # Mon=0..Sun=6

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(ZoneInfo(self.tz))
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def is_open_ts(self, ts: float) -> bool:
        return self.is_open(datetime.fromtimestamp(ts, ZoneInfo(self.tz)))

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time after `start` (aware datetimes)."""
        zone = ZoneInfo(self.tz)
        cur = start.astimezone(zone)
        left = timedelta(minutes=minutes)
        for _ in range(3660):  # at most ~10 years of days; guards a config with no open days
            day_open = datetime.combine(cur.date(), self.opens, zone)
            day_close = datetime.combine(cur.date(), self.closes, zone)
            if cur.weekday() in self.days and cur < day_close:
                cur = max(cur, day_open)
                if cur + left <= day_close:
                    return (cur + left).astimezone(start.tzinfo)
                left -= day_close - cur
            cur = datetime.combine(cur.date() + timedelta(days=1), self.opens, zone)
        raise ValueError("business hours have no open time")

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business minutes between two moments."""
        zone = ZoneInfo(self.tz)
        cur, end = start.astimezone(zone), end.astimezone(zone)
        total = timedelta()
        while cur < end:
            day_open = datetime.combine(cur.date(), self.opens, zone)
            day_close = datetime.combine(cur.date(), self.closes, zone)
            if cur.weekday() in self.days:
                lo, hi = max(cur, day_open), min(end, day_close)
                if hi > lo:
                    total += hi - lo
            cur = datetime.combine(cur.date() + timedelta(days=1), time(0), zone)
        return total.total_seconds() / 60


def first_response_due(hours: BusinessHours, created: datetime, priority: str) -> datetime:
    return hours.add(created, FIRST_RESPONSE_MINUTES.get(priority, 60))
