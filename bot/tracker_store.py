"""Rasa's tracker store as the hub sees it: the dialogue events Rasa keeps per conversation
(every message's text, the slots a form filled: emails, invoice titles, order ids), read for
a learner's export and deleted by an erasure or the retention purge.

Rasa's SQL tracker store (endpoints.yml) writes one row per event to its `events` table,
keyed by `sender_id`, which is our conversation id. Rasa reads a conversation's events from
the table on every turn and holds none in memory between turns, so rows deleted here are
gone from the dialogue too: a later message starts the conversation afresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

_EVENTS = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.Text),
    sa.column("type_name", sa.Text),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)
_CHUNK = 500  # ids per IN (...): SQLite's variable limit is far above, this keeps SQL short


class TrackerStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._engine: sa.Engine | None = None

    def _conn(self) -> sa.Engine | None:
        """None when Rasa never ran here (no file, or no table yet): nothing to read."""
        if not self.path.exists():
            return None
        if self._engine is None:
            # Rasa writes the same file: wait for its writer rather than fail
            self._engine = sa.create_engine(
                f"sqlite+pysqlite:///{self.path}",
                poolclass=NullPool,
                connect_args={"timeout": 30},
            )
            # deleted events are overwritten on disk, not left in free pages of the file
            sa.event.listen(
                self._engine,
                "connect",
                lambda dbapi_conn, _: dbapi_conn.execute("PRAGMA secure_delete = ON"),
            )
        with self._engine.connect() as conn:
            if not sa.inspect(conn).has_table("events"):
                return None
        return self._engine

    def events(self, sender_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Each conversation's events, oldest first, as Rasa stored them."""
        engine = self._conn()
        ids = list(sender_ids)
        out: dict[str, list[dict[str, Any]]] = {}
        if engine is None or not ids:
            return out
        with engine.connect() as conn:
            for chunk in _chunks(ids):
                rows = conn.execute(
                    sa.select(_EVENTS.c.sender_id, _EVENTS.c.data)
                    .where(_EVENTS.c.sender_id.in_(chunk))
                    .order_by(_EVENTS.c.id)
                )
                for sender, data in rows:
                    out.setdefault(sender, []).append(json.loads(data or "{}"))
        return out

    def count(self, sender_ids: Iterable[str]) -> int:
        """How many events these conversations have (what `delete` would delete)."""
        engine = self._conn()
        ids = list(sender_ids)
        if engine is None or not ids:
            return 0
        total = 0
        with engine.connect() as conn:
            for chunk in _chunks(ids):
                total += int(
                    conn.scalar(
                        sa.select(sa.func.count())
                        .select_from(_EVENTS)
                        .where(_EVENTS.c.sender_id.in_(chunk))
                    )
                    or 0
                )
        return total

    def delete(self, sender_ids: Iterable[str]) -> int:
        """Delete every event of these conversations; the number of rows deleted."""
        engine = self._conn()
        ids = list(sender_ids)
        if engine is None or not ids:
            return 0
        deleted = 0
        with engine.begin() as conn:
            for chunk in _chunks(ids):
                result = conn.execute(sa.delete(_EVENTS).where(_EVENTS.c.sender_id.in_(chunk)))
                deleted += result.rowcount
        return deleted

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    """`ids` in slices of `_CHUNK`, one IN (...) each."""
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]
