"""Questions the KB could not answer well, logged with their conversation for curation."""

import json
import time

import sqlite_utils

GAPS = "kb_gaps"


def ensure_schema(db: sqlite_utils.Database) -> None:
    if GAPS not in db.table_names():
        db[GAPS].create(
            {"id": int, "conversation_id": str, "query": str, "lang": str, "kind": str,
             "hits": str, "created_at": float, "resolved_entry": str},
            pk="id",
        )
        db[GAPS].create_index(["created_at"])


def log_gap(db: sqlite_utils.Database, *, conversation_id: str, query: str, lang: str,
            kind: str, hits: list[dict]) -> int:
    """kind: "clarify" (not sure), "fallback" (no answer) or "not_helpful" (learner said so)."""
    return int(db[GAPS].insert({
        "conversation_id": conversation_id, "query": query, "lang": lang, "kind": kind,
        "hits": json.dumps(hits, ensure_ascii=False), "created_at": time.time(),
    }).last_pk)


def recent_gaps(db: sqlite_utils.Database, limit: int = 500) -> list[dict]:
    rows = db[GAPS].rows_where(order_by="id desc", limit=limit)
    return [{**r, "hits": json.loads(r["hits"] or "[]")} for r in rows]
