"""Reading the hub's tables in tests, on either engine: rows and counts by column values."""

from typing import Any

import sqlalchemy as sa

from bot.db import Database


def _table(conn: sa.Connection, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=conn)


def rows(db: Database, table: str, order_by: str = "", **where: Any) -> list[dict]:
    """Every row of `table` whose columns equal `where`, as dicts."""
    with db.read() as conn:
        t = _table(conn, table)
        query = sa.select(t).where(*(t.c[k] == v for k, v in where.items()))
        if order_by:
            query = query.order_by(t.c[order_by])
        return [dict(r) for r in conn.execute(query).mappings()]


def count(db: Database, table: str, **where: Any) -> int:
    return len(rows(db, table, **where))


def delete(db: Database, table: str, **where: Any) -> None:
    with db.write() as conn:
        t = _table(conn, table)
        conn.execute(sa.delete(t).where(*(t.c[k] == v for k, v in where.items())))
