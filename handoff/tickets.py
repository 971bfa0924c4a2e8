"""Tickets: one per handed-off stretch of a conversation, from queue to resolution.

State machine: queued -> claimed -> resolved; claimed -> queued (transfer to another team,
or release back to the same team's queue); claimed -> claimed (a manager reassigns it to
another agent); queued/claimed -> cancelled (the learner goes back to the bot, also while an
agent holds the chat: a learner must never be stuck waiting on a person who is gone). A
conversation has at most one open (queued or claimed) ticket.

Going back to the bot withdraws only the learner's wish to talk to a person. Work the bot
filed for a team (`FOLLOW_UP_REASONS`: a refused refund's billing review, a complaint, a
piracy or privacy request) is owed whether or not the learner waits in the chat: `leave_chat`
turns such a chat back into a case, still queued (or with the agent who holds it), instead of
cancelling it.

Who may act: only an agent of the ticket's team claims it (`teams=None` means "any team",
for managers and admins; the hub decides who that is). The owner replies, transfers, releases
and resolves; a manager (`override=True`) may also transfer, release or reassign a ticket
someone else holds, so a chat never stays with an absent agent.

Two deadlines. `sla_due_at` is the first-response SLA, fixed at creation: the first answer is
due by then, and a transfer never moves it, so whether the learner waited too long for a first
answer stays true in the reports (bot/metrics/ counts breaches from it). `queue_due_at` is
when the ticket's *current* queue owes the learner a person: it starts equal to `sla_due_at`
and is set afresh (now + the priority's target, in business hours) each time the ticket goes
back to a queue by transfer or release. The console orders and warns by `queue_due_at`.

A ticket's channel says who is waiting: "chat" means the learner is in the chat waiting for
a person, and that is what puts the conversation in human mode; "case" is follow-up work for a
team (a piracy report, a privacy request, a complaint the learner chose not to discuss now)
while the learner goes on with the bot. A case becomes a chat when the learner asks for a
person, and when an agent claims it or replies to it: from then on the agent is talking to the
learner, so the learner's answers must reach the agent, not the bot.
"""

import json
import time
from datetime import UTC, datetime

import sqlite_utils
from pydantic import BaseModel

from handoff.errors import AlreadyRated, Conflict, Forbidden, NotFound
from handoff.routing import TEAMS, route
from handoff.sla import BusinessHours, first_response_due

TICKETS = "tickets"
EVENTS = "ticket_events"
PRIORITIES = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
OPEN = ("queued", "claimed")
# Tickets that are a team's work, not only a learner waiting for a person: leaving the chat
# keeps them (as a case). refund_ineligible: billing reviews a refund the policy refused.
FOLLOW_UP_REASONS = frozenset(
    {"refund_ineligible", "complaint", "piracy_report", "privacy_export", "privacy_delete"}
)


class Ticket(BaseModel):
    id: int
    conversation_id: str
    status: str
    channel: str = "chat"
    reason: str
    intent: str | None = None
    category: str | None = None  # the flow's finer class: see create_ticket
    order_id: str | None = None  # the learner's order the ticket is about, if one
    priority: str
    team: str
    summary: str = ""
    created_at: float
    sla_due_at: float
    queue_due_at: float | None = None
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
            "category": str,
            "order_id": str,
            "priority": str,
            "priority_rank": int,
            "team": str,
            "summary": str,
            "created_at": float,
            "sla_due_at": float,
            "queue_due_at": float,  # the current queue's deadline; see the module docstring
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


def tickets_for(
    db: sqlite_utils.Database, conversation_ids: list[str], reason: str
) -> list[Ticket]:
    """A learner's tickets of one reason across their conversations, newest first, left out
    the cancelled ones (the learner went back to the bot before anyone looked)."""
    if not conversation_ids:
        return []
    marks = ", ".join("?" * len(conversation_ids))
    rows = db[TICKETS].rows_where(
        f"conversation_id IN ({marks}) AND reason = ? AND status != 'cancelled'",
        [*conversation_ids, reason],
        order_by="created_at DESC",
    )
    return [Ticket(**r) for r in rows]


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
    category: str | None = None,
    order_id: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    summary: str = "",
    channel: str = "chat",
    hours: BusinessHours | None = None,
    now: float | None = None,
) -> Ticket:
    """Queue a conversation for a team. Idempotent: an open ticket is reused, raised to the
    higher of the two priorities, and turned from a case into a chat if a chat is asked for.

    `category` is what the flow knows beyond the reason, kept as a value the manager's
    reports can count (it is otherwise only in the summary's prose): a complaint's category
    (reason "complaint"), the refund policy's code for a refused refund ("refund_ineligible").
    A reused ticket keeps its own reason and category."""
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
                    "category": category,
                    "order_id": order_id,
                    "priority": priority,
                    "priority_rank": PRIORITIES[priority],
                    "team": team,
                    "summary": summary,
                    "created_at": now,
                    "sla_due_at": due.timestamp(),
                    "queue_due_at": due.timestamp(),
                }
            )
            .last_pk
        )
        _event(db, ticket_id, "created", "bot", reason, now)
    return _row(db, ticket_id)


def queue(
    db: sqlite_utils.Database, *, teams: list[str] | None = None, status: tuple[str, ...] = OPEN
) -> list[Ticket]:
    """Open tickets, waiting ones first (a claimed ticket already has its person), then the
    most urgent: priority, then the current queue's deadline, then age."""
    where = f"status IN ({','.join('?' * len(status))})"
    args: list = list(status)
    if teams:
        where += f" AND team IN ({','.join('?' * len(teams))})"
        args.extend(teams)
    rows = db[TICKETS].rows_where(
        where,
        args,
        order_by="status = 'claimed', priority_rank, COALESCE(queue_due_at, sla_due_at), "
        "created_at, id",
    )
    return [Ticket(**r) for r in rows]


def _team_label(team: str) -> str:
    return TEAMS.get(team, {}).get("en", team)


def _as_chat(db: sqlite_utils.Database, ticket: Ticket, actor: str, now: float) -> None:
    """A person now talks to the learner: the case becomes a chat (human mode)."""
    if ticket.channel != "chat":
        db[TICKETS].update(ticket.id, {"channel": "chat"})
        _event(db, ticket.id, "updated", actor, json.dumps({"channel": "chat"}), now)


def claim(
    db: sqlite_utils.Database,
    ticket_id: int,
    agent: str,
    now: float | None = None,
    *,
    teams: list[str] | None = None,
) -> Ticket:
    """Take a queued ticket of one of `teams` (None: any team). Atomic: of two agents claiming
    at once, exactly one wins. A case becomes a chat: the agent is now talking to the learner."""
    now = time.time() if now is None else now
    with db.conn:
        ticket = _row(db, ticket_id)  # raises NotFound
        if teams is not None and ticket.team not in teams:
            zh = TEAMS.get(ticket.team, {}).get("zh", ticket.team)
            raise Forbidden(
                f"ticket {ticket_id} is for the {_team_label(ticket.team)} team, which you are "
                f"not in · 工单 #{ticket_id} 属于{zh}，您不在该组，不能接入"
            )
        # the team is part of the condition: a transfer between the read and the write loses
        cur = db.execute(
            "UPDATE tickets SET status = 'claimed', claimed_by = ?, claimed_at = ? "
            "WHERE id = ? AND status = 'queued' AND team = ?",
            [agent, now, ticket_id, ticket.team],
        )
        if cur.rowcount != 1:
            ticket = _row(db, ticket_id)
            who = f" by {ticket.claimed_by}" if ticket.claimed_by else ""
            raise Conflict(
                f"ticket {ticket_id} is already {ticket.status}{who} · 工单 #{ticket_id} "
                f"已{_STATUS_ZH.get(ticket.status, ticket.status)}"
            )
        _event(db, ticket_id, "claimed", agent, "", now)
        _as_chat(db, ticket, agent, now)
    return _row(db, ticket_id)


_STATUS_ZH = {"queued": "在排队", "claimed": "被接入", "resolved": "解决", "cancelled": "取消"}


def _owned(db: sqlite_utils.Database, ticket_id: int, agent: str, override: bool = False) -> Ticket:
    """The claimed ticket, if `agent` holds it (or `override`: a manager acting on it)."""
    ticket = _row(db, ticket_id)
    if ticket.status != "claimed":
        raise Conflict(
            f"ticket {ticket_id} is {ticket.status}, not claimed · 工单 #{ticket_id} "
            f"已{_STATUS_ZH.get(ticket.status, ticket.status)}，不在接入状态"
        )
    if ticket.claimed_by != agent and not override:
        raise Forbidden(
            f"ticket {ticket_id} is claimed by {ticket.claimed_by} · "
            f"工单 #{ticket_id} 由 {ticket.claimed_by} 接入"
        )
    return ticket


def record_agent_reply(
    db: sqlite_utils.Database, ticket_id: int, agent: str, now: float | None = None
) -> Ticket:
    """Check the agent may reply, and start the first-response clock's stop if it is first.
    A case answered in the chat becomes a chat, so the learner's answer reaches the agent."""
    now = time.time() if now is None else now
    ticket = _owned(db, ticket_id, agent)
    with db.conn:
        _as_chat(db, ticket, agent, now)
        if ticket.first_response_at is None:
            db[TICKETS].update(ticket_id, {"first_response_at": now, "first_response_by": agent})
            _event(db, ticket_id, "first_response", agent, "", now)
    return _row(db, ticket_id)


def _requeue(
    db: sqlite_utils.Database, ticket: Ticket, team: str, hours: BusinessHours | None, now: float
) -> None:
    """Back to `team`'s queue, unclaimed, with a fresh deadline for that queue (the
    first-response SLA stays)."""
    due = first_response_due(
        hours or BusinessHours(), datetime.fromtimestamp(now, UTC), ticket.priority
    )
    db[TICKETS].update(
        ticket.id,
        {
            "status": "queued",
            "team": team,
            "claimed_by": None,
            "claimed_at": None,
            "queue_due_at": due.timestamp(),
        },
    )


def transfer(
    db: sqlite_utils.Database,
    ticket_id: int,
    agent: str,
    team: str,
    note: str = "",
    now: float | None = None,
    *,
    override: bool = False,
    hours: BusinessHours | None = None,
) -> Ticket:
    """Hand a claimed ticket to another team's queue, with a fresh queue deadline."""
    now = time.time() if now is None else now
    if team not in TEAMS:
        raise NotFound(f"no team {team!r}; teams are {', '.join(TEAMS)} · 没有这个组")
    with db.conn:
        ticket = _owned(db, ticket_id, agent, override)
        _requeue(db, ticket, team, hours, now)
        _event(db, ticket_id, "transferred", agent, f"{team} {note}".strip(), now)
    return _row(db, ticket_id)


def release(
    db: sqlite_utils.Database,
    ticket_id: int,
    agent: str,
    note: str = "",
    now: float | None = None,
    *,
    override: bool = False,
    hours: BusinessHours | None = None,
) -> Ticket:
    """Put a claimed ticket back in its own team's queue (the owner, or a manager), with a
    fresh queue deadline; the next agent of the team claims it."""
    now = time.time() if now is None else now
    with db.conn:
        ticket = _owned(db, ticket_id, agent, override)
        _requeue(db, ticket, ticket.team, hours, now)
        detail = json.dumps({"from": ticket.claimed_by, "note": note}, ensure_ascii=False)
        _event(db, ticket_id, "released", agent, detail, now)
    return _row(db, ticket_id)


def reassign(
    db: sqlite_utils.Database,
    ticket_id: int,
    manager: str,
    to_agent: str,
    note: str = "",
    now: float | None = None,
    *,
    to_teams: list[str] | None = None,
) -> Ticket:
    """A manager gives a claimed ticket to another agent. The 'reassigned' event's actor is
    the manager; the new owner is in its detail. The first response and its credit stay.

    `to_teams`: the new owner's teams (None: any, a manager). As with claiming, only an agent
    of the ticket's team may hold it: to give it to someone else, transfer it to their team
    first (Conflict otherwise)."""
    now = time.time() if now is None else now
    with db.conn:
        ticket = _owned(db, ticket_id, manager, override=True)
        if ticket.claimed_by == to_agent:
            raise Conflict(f"ticket {ticket_id} is already {to_agent}'s · 工单已由该客服接入")
        if to_teams is not None and ticket.team not in to_teams:
            zh = TEAMS.get(ticket.team, {}).get("zh", ticket.team)
            raise Conflict(
                f"{to_agent} is not in the {_team_label(ticket.team)} team of ticket "
                f"{ticket_id}: transfer the ticket to one of their teams first, or pick an "
                f"agent of that team · {to_agent} 不在{zh}，不能改派工单 #{ticket_id}；"
                "请先转接到其所在组，或改派给该组的客服"
            )
        db[TICKETS].update(ticket_id, {"claimed_by": to_agent, "claimed_at": now})
        detail = json.dumps(
            {"from": ticket.claimed_by, "to": to_agent, "note": note}, ensure_ascii=False
        )
        _event(db, ticket_id, "reassigned", manager, detail, now)
    return _row(db, ticket_id)


def handover_notes(db: sqlite_utils.Database, ticket_id: int) -> list[dict]:
    """What agents and managers wrote when passing the ticket on (transfer, release,
    reassign), oldest first, for the next agent to read."""
    notes = []
    for e in db[EVENTS].rows_where(
        "ticket_id = ? AND kind IN ('transferred', 'released', 'reassigned')",
        [ticket_id],
        order_by="id",
    ):
        if e["kind"] == "transferred":
            team, _, note = (e["detail"] or "").partition(" ")
            info = {"team": team, "note": note}
        else:
            info = json.loads(e["detail"] or "{}")
        notes.append({"kind": e["kind"], "actor": e["actor"], "at": e["at"], **info})
    return notes


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
    """The learner withdraws the request, queued or claimed; the conversation goes back to
    the bot. The event's detail names the agent who held it, if one did."""
    now = time.time() if now is None else now
    ticket = open_ticket(db, conversation_id)
    if ticket is None:
        return None
    with db.conn:
        db[TICKETS].update(ticket.id, {"status": "cancelled", "resolved_at": now})
        _event(db, ticket.id, "cancelled", actor, ticket.claimed_by or "", now)
    return _row(db, ticket.id)


def leave_chat(
    db: sqlite_utils.Database,
    conversation_id: str,
    actor: str = "learner",
    now: float | None = None,
) -> Ticket | None:
    """The learner goes back to the bot. A ticket of `FOLLOW_UP_REASONS` stays open as a case
    (queued, or with the agent who holds it: the team still owes the learner an answer, given
    in the chat); any other is cancelled. Returns the ticket as it is now, None if there was
    no open ticket. The event's detail names the agent who held it, if one did."""
    now = time.time() if now is None else now
    ticket = open_ticket(db, conversation_id)
    if ticket is None:
        return None
    if ticket.reason not in FOLLOW_UP_REASONS:
        return cancel(db, conversation_id, actor, now)
    with db.conn:
        db[TICKETS].update(ticket.id, {"channel": "case"})
        _event(db, ticket.id, "left_chat", actor, ticket.claimed_by or "", now)
    return _row(db, ticket.id)


def rate(
    db: sqlite_utils.Database,
    ticket_id: int,
    score: int,
    comment: str = "",
    now: float | None = None,
) -> Ticket:
    """Store the learner's CSAT (1-5) for a resolved ticket, once: a second rating is refused
    (AlreadyRated), so one star row cannot be clicked into several scores and thank-yous."""
    now = time.time() if now is None else now
    if not 1 <= score <= 5:
        raise Conflict("a CSAT score is a whole number from 1 to 5 · 评分为 1 到 5 的整数")
    ticket = _row(db, ticket_id)
    if ticket.status != "resolved":
        raise Conflict(
            f"ticket {ticket_id} is {ticket.status}; only resolved tickets are rated · "
            "只有已解决的工单可以评价"
        )
    with db.conn:  # the condition makes two clicks at once rate once
        cur = db.execute(
            "UPDATE tickets SET csat = ?, csat_comment = ?, csat_at = ? "
            "WHERE id = ? AND csat IS NULL",
            [score, comment, now, ticket_id],
        )
    if cur.rowcount != 1:
        raise AlreadyRated(f"ticket {ticket_id} is already rated · 该工单已评价过")
    return _row(db, ticket_id)
