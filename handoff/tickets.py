"""Tickets: one per handed-off stretch of a conversation, from queue to resolution.

State machine: queued -> claimed -> resolved; claimed -> queued (transfer);
queued/claimed -> cancelled (the learner goes back to the bot). A conversation has at
most one open (queued or claimed) ticket.

A ticket's channel says who is waiting: "chat" means the learner is in the chat waiting for
a person, and that is what puts the conversation in human mode; "case" is follow-up work for a
team (a piracy report, a privacy request, a complaint the learner chose not to discuss now)
while the learner goes on with the bot. A case becomes a chat when the learner asks for a person.
"""

import json
import time
from datetime import UTC, datetime

import sqlite_utils
from pydantic import BaseModel

from handoff.errors import Conflict, Forbidden, NotFound
from handoff.routing import TEAMS, route
from handoff.sla import BusinessHours, first_response_due

TICKETS = "tickets"
EVENTS = "ticket_events"
PRIORITIES = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
OPEN = ("queued", "claimed")


class Ticket(BaseModel):
    id: int
    conversation_id: str
    status: str
    channel: str = "chat"
    reason: str
    intent: str | None = None
    priority: str
    team: str
    summary: str = ""
    created_at: float
    sla_due_at: float
    claimed_by: str | None = None
    claimed_at: float | None = None
    first_response_at: float | None = None
    first_response_by: str | None = None
    resolved_at: float | None = None
    resolution_note: str | None = None
    csat: int | None = None
    csat_comment: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


def ensure_schema(db: sqlite_utils.Database) -> None:
    db[TICKETS].create(
        {
            "id": int,
            "conversation_id": str,
            "status": str,
            "channel": str,
            "reason": str,
            "intent": str,
            "priority": str,
            "priority_rank": int,
            "team": str,
            "summary": str,
            "created_at": float,
            "sla_due_at": float,
            "claimed_by": str,
            "claimed_at": float,
            "first_response_at": float,
            "first_response_by": str,  # who answered first: a transfer must not move the credit
            "resolved_at": float,
            "resolution_note": str,
            "csat": int,
            "csat_comment": str,
            "csat_at": float,
        },
        transform=True,
        pk="id",
    )
    db[TICKETS].create_index(["conversation_id", "status"], if_not_exists=True)
    db[TICKETS].create_index(["status", "priority_rank", "sla_due_at"], if_not_exists=True)
    db[EVENTS].create(
        {"id": int, "ticket_id": int, "kind": str, "actor": str, "detail": str, "at": float},
        transform=True,
        pk="id",
    )
    db[EVENTS].create_index(["ticket_id"], if_not_exists=True)


def _row(db: sqlite_utils.Database, ticket_id: int) -> Ticket:
    rows = list(db[TICKETS].rows_where("id = ?", [ticket_id]))
    if not rows:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return Ticket(**rows[0])


def _event(
    db: sqlite_utils.Database, ticket_id: int, kind: str, actor: str, detail: str, at: float
) -> None:
    db[EVENTS].insert(
        {"ticket_id": ticket_id, "kind": kind, "actor": actor, "detail": detail, "at": at}
    )


def get_ticket(db: sqlite_utils.Database, ticket_id: int) -> Ticket:
    return _row(db, ticket_id)


def open_ticket(db: sqlite_utils.Database, conversation_id: str) -> Ticket | None:
    rows = list(
        db[TICKETS].rows_where(
            "conversation_id = ? AND status IN ('queued', 'claimed')", [conversation_id], limit=1
        )
    )
    return Ticket(**rows[0]) if rows else None


def human_mode(db: sqlite_utils.Database, conversation_id: str) -> Ticket | None:
    """The open chat ticket that keeps the bot silent, if there is one."""
    ticket = open_ticket(db, conversation_id)
    return ticket if ticket and ticket.channel == "chat" else None


def create_ticket(
    db: sqlite_utils.Database,
    conversation_id: str,
    *,
    reason: str,
    intent: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    summary: str = "",
    channel: str = "chat",
    hours: BusinessHours | None = None,
    now: float | None = None,
) -> Ticket:
    """Queue a conversation for a team. Idempotent: an open ticket is reused, raised to the
    higher of the two priorities, and turned from a case into a chat if a chat is asked for."""
    now = time.time() if now is None else now
    default_team, default_priority = route(intent, reason)
    team = team if team in TEAMS else default_team
    priority = priority if priority in PRIORITIES else default_priority
    with db.conn:
        existing = open_ticket(db, conversation_id)
        if existing:
            changes: dict = {}
            if PRIORITIES[priority] < PRIORITIES[existing.priority]:
                changes.update(priority=priority, priority_rank=PRIORITIES[priority])
            if channel == "chat" and existing.channel == "case":
                changes["channel"] = "chat"
            if summary and summary not in existing.summary:
                changes["summary"] = f"{existing.summary}\n{summary}".strip()
            if changes:
                db[TICKETS].update(existing.id, changes)
                _event(
                    db, existing.id, "updated", "bot", json.dumps(changes, ensure_ascii=False), now
                )
            return _row(db, existing.id)
        due = first_response_due(
            hours or BusinessHours(), datetime.fromtimestamp(now, UTC), priority
        )
        ticket_id = (
            db[TICKETS]
            .insert(
                {
                    "conversation_id": conversation_id,
                    "status": "queued",
                    "channel": channel,
                    "reason": reason,
                    "intent": intent,
                    "priority": priority,
                    "priority_rank": PRIORITIES[priority],
                    "team": team,
                    "summary": summary,
                    "created_at": now,
                    "sla_due_at": due.timestamp(),
                }
            )
            .last_pk
        )
        _event(db, ticket_id, "created", "bot", reason, now)
    return _row(db, ticket_id)


def queue(
    db: sqlite_utils.Database, *, teams: list[str] | None = None, status: tuple[str, ...] = OPEN
) -> list[Ticket]:
    """Open tickets, most urgent first: priority, then the SLA deadline, then age."""
    where = f"status IN ({','.join('?' * len(status))})"
    args: list = list(status)
    if teams:
        where += f" AND team IN ({','.join('?' * len(teams))})"
        args.extend(teams)
    rows = db[TICKETS].rows_where(where, args, order_by="priority_rank, sla_due_at, created_at, id")
    return [Ticket(**r) for r in rows]


def claim(
    db: sqlite_utils.Database, ticket_id: int, agent: str, now: float | None = None
) -> Ticket:
    """Take a queued ticket. Atomic: of two agents claiming at once, exactly one wins."""
    now = time.time() if now is None else now
    with db.conn:
        cur = db.execute(
            "UPDATE tickets SET status = 'claimed', claimed_by = ?, claimed_at = ? "
            "WHERE id = ? AND status = 'queued'",
            [agent, now, ticket_id],
        )
        if cur.rowcount != 1:
            ticket = _row(db, ticket_id)  # raises NotFound
            who = f" by {ticket.claimed_by}" if ticket.claimed_by else ""
            raise Conflict(f"ticket {ticket_id} is already {ticket.status}{who}")
        _event(db, ticket_id, "claimed", agent, "", now)
    return _row(db, ticket_id)


def _owned(db: sqlite_utils.Database, ticket_id: int, agent: str) -> Ticket:
    ticket = _row(db, ticket_id)
    if ticket.status != "claimed":
        raise Conflict(f"ticket {ticket_id} is {ticket.status}, not claimed")
    if ticket.claimed_by != agent:
        raise Forbidden(f"ticket {ticket_id} is claimed by {ticket.claimed_by}")
    return ticket


def record_agent_reply(
    db: sqlite_utils.Database, ticket_id: int, agent: str, now: float | None = None
) -> Ticket:
    """Check the agent may reply, and start the first-response clock's stop if it is first."""
    now = time.time() if now is None else now
    ticket = _owned(db, ticket_id, agent)
    if ticket.first_response_at is None:
        with db.conn:
            db[TICKETS].update(ticket_id, {"first_response_at": now, "first_response_by": agent})
            _event(db, ticket_id, "first_response", agent, "", now)
        ticket = _row(db, ticket_id)
    return ticket


def transfer(
    db: sqlite_utils.Database,
    ticket_id: int,
    agent: str,
    team: str,
    note: str = "",
    now: float | None = None,
) -> Ticket:
    """Hand a claimed ticket to another team's queue."""
    now = time.time() if now is None else now
    if team not in TEAMS:
        raise NotFound(f"no team {team!r}; teams are {', '.join(TEAMS)}")
    with db.conn:
        _owned(db, ticket_id, agent)
        db[TICKETS].update(
            ticket_id, {"status": "queued", "team": team, "claimed_by": None, "claimed_at": None}
        )
        _event(db, ticket_id, "transferred", agent, f"{team} {note}".strip(), now)
    return _row(db, ticket_id)


def resolve(
    db: sqlite_utils.Database, ticket_id: int, agent: str, note: str = "", now: float | None = None
) -> Ticket:
    now = time.time() if now is None else now
    with db.conn:
        _owned(db, ticket_id, agent)
        db[TICKETS].update(
            ticket_id, {"status": "resolved", "resolved_at": now, "resolution_note": note}
        )
        _event(db, ticket_id, "resolved", agent, note, now)
    return _row(db, ticket_id)


def cancel(
    db: sqlite_utils.Database,
    conversation_id: str,
    actor: str = "learner",
    now: float | None = None,
) -> Ticket | None:
    """The learner withdraws the request; the conversation goes back to the bot."""
    now = time.time() if now is None else now
    ticket = open_ticket(db, conversation_id)
    if ticket is None:
        return None
    with db.conn:
        db[TICKETS].update(ticket.id, {"status": "cancelled", "resolved_at": now})
        _event(db, ticket.id, "cancelled", actor, "", now)
    return _row(db, ticket.id)


def rate(
    db: sqlite_utils.Database,
    ticket_id: int,
    score: int,
    comment: str = "",
    now: float | None = None,
) -> Ticket:
    """Store the learner's CSAT (1-5) for a resolved ticket; a later rating replaces it."""
    now = time.time() if now is None else now
    if not 1 <= score <= 5:
        raise Conflict("a CSAT score is a whole number from 1 to 5")
    ticket = _row(db, ticket_id)
    if ticket.status != "resolved":
        raise Conflict(f"ticket {ticket_id} is {ticket.status}; only resolved tickets are rated")
    db[TICKETS].update(ticket_id, {"csat": score, "csat_comment": comment, "csat_at": now})
    return _row(db, ticket_id)
