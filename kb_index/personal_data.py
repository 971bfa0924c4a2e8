"""What the knowledge base holds about the learners of some conversations, for their export
and their erasure (bot/learner_records.py), and the retention of unanswered questions.

Unanswered questions (gaps) are the learners' own words: an erasure deletes them, and the
retention purge deletes them after `retention_gaps_days` (content staff work from recent
ones). Feedback votes are kept for the entries' counts, without the conversation and the
message they came from.

Every function takes the caller's connection (one unit of work) and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from kb_index.tables import kb_feedback as F
from kb_index.tables import kb_gaps as G

_CHUNK = 500


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def export(conn: Connection, conversation_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    gaps: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for ids in _chunks(list(conversation_ids)):
        for row in conn.execute(
            sa.select(G.c.conversation_id, G.c.query, G.c.lang, G.c.kind, G.c.created_at)
            .where(G.c.conversation_id.in_(ids))
            .order_by(G.c.id)
        ):
            gaps.append(dict(row._mapping))
        for row in conn.execute(
            sa.select(
                F.c.conversation_id, F.c.message_id, F.c.entry_id, F.c.helpful, F.c.created_at
            )
            .where(F.c.conversation_id.in_(ids))
            .order_by(F.c.id)
        ):
            feedback.append(dict(row._mapping))
    return {"unanswered_questions": gaps, "kb_feedback": feedback}


def erase(conn: Connection, conversation_ids: Sequence[str]) -> dict[str, int]:
    gaps = votes = 0
    for ids in _chunks(list(conversation_ids)):
        gaps += conn.execute(sa.delete(G).where(G.c.conversation_id.in_(ids))).rowcount
        votes += conn.execute(
            sa.update(F)
            .where(F.c.conversation_id.in_(ids))
            .values(conversation_id=None, message_id=None)
        ).rowcount
    return {"gaps_deleted": gaps, "feedback_detached": votes}


def old_gaps(conn: Connection, before: float) -> int:
    return int(
        conn.scalar(sa.select(sa.func.count()).select_from(G).where(G.c.created_at < before)) or 0
    )


def purge_gaps(conn: Connection, before: float) -> int:
    """Delete unanswered questions logged before `before`."""
    return conn.execute(sa.delete(G).where(G.c.created_at < before)).rowcount


