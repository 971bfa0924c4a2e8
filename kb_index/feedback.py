"""Learners' "helpful / not helpful" on KB answers, stored against the entry.

Every function takes the caller's connection (one unit of work) and never commits."""

import time

import sqlalchemy as sa
from sqlalchemy import Connection

from kb_index.tables import kb_feedback as FEEDBACK


def record(
    conn: Connection,
    *,
    entry_id: str,
    conversation_id: str,
    message_id: int,
    helpful: bool,
) -> None:
    """One vote per answer message; voting again replaces the earlier vote.

    One statement, INSERT ... ON CONFLICT (conversation_id, message_id) DO UPDATE, which
    SQLite and PostgreSQL both have: two votes at once (a double click) leave one row, the
    later vote's, where a delete-then-insert would let both inserts run into the unique
    index."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    vote = {"entry_id": entry_id, "helpful": int(helpful), "created_at": time.time()}
    stmt = insert(FEEDBACK).values(conversation_id=conversation_id, message_id=message_id, **vote)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["conversation_id", "message_id"], set_=vote)
    )


def counts(conn: Connection) -> dict[str, dict[str, int]]:
    """entry id -> {"helpful": n, "not_helpful": m}"""
    out: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        sa.select(FEEDBACK.c.entry_id, FEEDBACK.c.helpful, sa.func.count()).group_by(
            FEEDBACK.c.entry_id, FEEDBACK.c.helpful
        )
    )
    for entry_id, helpful, n in rows:
        out.setdefault(entry_id, {"helpful": 0, "not_helpful": 0})[
            "helpful" if helpful else "not_helpful"
        ] = n
    return out
