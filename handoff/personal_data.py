"""What the handoff library holds about the learners of some conversations, for their
export and their erasure (bot/learner_records.py) and the retention purge.

A ticket is kept after an erasure: the desk's figures (volumes, SLA, CSAT scores) count it.
What it says about the learner goes: the summary (their own words), the order it was about,
the CSAT comment, the agents' notes (a resolution, a transfer or hand-back note), and the
summary changes its "updated" events carry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from handoff.tables import ticket_events as E
from handoff.tables import tickets as T
from handoff.tickets import OPEN

_CHUNK = 500


def _chunks(ids: Sequence[Any]) -> list[Sequence[Any]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def export(conn: Connection, conversation_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The conversations' tickets, each with its events, oldest first."""
    out: list[dict[str, Any]] = []
    for ids in _chunks(list(conversation_ids)):
        for row in conn.execute(sa.select(T).where(T.c.conversation_id.in_(ids)).order_by(T.c.id)):
            ticket = dict(row._mapping)
            events = conn.execute(
                sa.select(E.c.kind, E.c.actor, E.c.detail, E.c.at)
                .where(E.c.ticket_id == row.id)
                .order_by(E.c.id)
            )
            ticket["events"] = [dict(e._mapping) for e in events]
            out.append(ticket)
    return out


def _scrubbed(kind: str, detail: str | None) -> str | None:
    """An event's detail without free text: a transfer keeps its team, a hand-back or a
    reassignment who from and to; a creation keeps its reason code."""
    if not detail:
        return detail
    if kind == "created":
        return detail
    if kind == "transferred":
        return detail.split(" ", 1)[0]
    if kind in ("released", "reassigned"):
        try:
            data = json.loads(detail)
        except ValueError:
            return None
        if isinstance(data, dict):
            data.pop("note", None)
            return json.dumps(data, ensure_ascii=False)
    if kind in ("claimed", "cancelled", "left_chat", "first_response"):
        return detail  # a staff user name or nothing
    return None


def erase(conn: Connection, conversation_ids: Sequence[str]) -> int:
    """Strip the conversations' tickets of what they say about the learner; the number of
    tickets touched."""
    touched = 0
    for ids in _chunks(list(conversation_ids)):
        ticket_ids = list(conn.scalars(sa.select(T.c.id).where(T.c.conversation_id.in_(ids))))
        if not ticket_ids:
            continue
        touched += conn.execute(
            sa.update(T)
            .where(T.c.id.in_(ticket_ids))
            .values(summary="", order_id=None, csat_comment=None, resolution_note=None)
        ).rowcount
        events = conn.execute(
            sa.select(E.c.id, E.c.kind, E.c.detail).where(E.c.ticket_id.in_(ticket_ids))
        ).all()
        changes = [
            {"eid": eid, "detail": _scrubbed(kind, detail)}
            for eid, kind, detail in events
            if _scrubbed(kind, detail) != detail
        ]
        if changes:
            conn.execute(
                sa.update(E)
                .where(E.c.id == sa.bindparam("eid"))
                .values(detail=sa.bindparam("detail")),
                changes,
            )
    return touched


def open_conversations(conn: Connection, conversation_ids: Sequence[str]) -> set[str]:
    """Those of the conversations with a ticket still open (the retention purge skips them)."""
    found: set[str] = set()
    for ids in _chunks(list(conversation_ids)):
        found.update(
            conn.scalars(
                sa.select(T.c.conversation_id).where(
                    T.c.conversation_id.in_(ids), T.c.status.in_(OPEN)
                )
            )
        )
    return found
