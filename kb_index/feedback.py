"""Learners' "helpful / not helpful" on KB answers, stored against the entry."""

import time

import sqlite_utils

FEEDBACK = "kb_feedback"


def ensure_schema(db: sqlite_utils.Database) -> None:
    db[FEEDBACK].create(
        {
            "id": int,
            "entry_id": str,
            "conversation_id": str,
            "message_id": int,
            "helpful": int,
            "created_at": float,
        },
        transform=True,
        pk="id",
    )
    db[FEEDBACK].create_index(["entry_id"], if_not_exists=True)
    db[FEEDBACK].create_index(["conversation_id", "message_id"], unique=True, if_not_exists=True)


def record(
    db: sqlite_utils.Database,
    *,
    entry_id: str,
    conversation_id: str,
    message_id: int,
    helpful: bool,
) -> None:
    """One vote per answer message; voting again replaces the earlier vote."""
    with db.conn:
        db.execute(
            f"DELETE FROM {FEEDBACK} WHERE conversation_id = ? AND message_id = ?",
            [conversation_id, message_id],
        )
        db[FEEDBACK].insert(
            {
                "entry_id": entry_id,
                "conversation_id": conversation_id,
                "message_id": message_id,
                "helpful": int(helpful),
                "created_at": time.time(),
            }
        )


def counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """entry id -> {"helpful": n, "not_helpful": m}"""
    out: dict[str, dict[str, int]] = {}
    for entry_id, helpful, n in db.execute(
        f"SELECT entry_id, helpful, count(*) FROM {FEEDBACK} GROUP BY entry_id, helpful"
    ):
        out.setdefault(entry_id, {"helpful": 0, "not_helpful": 0})[
            "helpful" if helpful else "not_helpful"
        ] = n
    return out
