"""The arithmetic the indicators share: medians and nearest-rank p90, shares, and
business minutes."""

import math
import statistics
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.sql import Executable

from handoff import BusinessHours


def p50(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank: the ceil(0.9 n)-th smallest value."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def business_minutes(hours: BusinessHours, start: float, end: float) -> float:
    return hours.elapsed(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))


def rounded(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def column(conn: Connection, sql: str | Executable, params: dict[str, Any] | None = None) -> list:
    """The first column of a query's rows: `sql` is SQL text with named parameters (`:since`)
    or a SQLAlchemy statement."""
    stmt = sa.text(sql) if isinstance(sql, str) else sql
    return list(conn.execute(stmt, params or {}).scalars())
