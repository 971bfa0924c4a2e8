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

Acting at once. Every function takes the caller's connection (one unit of work, bot/db.py)
and never commits. Each state change (claim, resolve, transfer, release, reassign, a reply's
right to answer, cancel, leaving the chat, a rating) is ONE conditional UPDATE whose WHERE
clause holds what the change needs (still claimed, by this agent, ...), so of two people
acting at once exactly one wins: the other's update matches no row, the ticket is read again
and the loser gets the error that state calls for (Conflict, 409; Forbidden; NotFound). The
winner's row stays locked by its transaction until it ends, so what it does next (events,
a case turned into a chat) sees the ticket as it left it. A conversation's tickets are
created under a per-conversation lock (`_lock_conversation`), so two requests for a person
at once still leave one open ticket.
"""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Connection

from handoff.errors import AlreadyRated, Conflict, Forbidden, NotFound
from handoff.routing import TEAMS, route
from handoff.sla import BusinessHours, first_response_due
from handoff.tables import ticket_events as EVENTS
from handoff.tables import tickets as TICKETS
from privacy import mask

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


def _ticket(row: sa.Row[Any]) -> Ticket:
    return Ticket(**row._mapping)


def _row(conn: Connection, ticket_id: int) -> Ticket:
    row = conn.execute(sa.select(TICKETS).where(TICKETS.c.id == ticket_id)).first()
    if row is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return _ticket(row)


def _event(conn: Connection, ticket_id: int, kind: str, actor: str, detail: str, at: float) -> None:
    conn.execute(
        sa.insert(EVENTS).values(ticket_id=ticket_id, kind=kind, actor=actor, detail=detail, at=at)
    )


def _update(conn: Connection, ticket_id: int, *where: Any, **values: Any) -> bool:
    """One conditional UPDATE of a ticket: True if it applied (the row matched `where`)."""
    stmt = sa.update(TICKETS).where(TICKETS.c.id == ticket_id, *where).values(**values)
    return conn.execute(stmt).rowcount == 1


def get_ticket(conn: Connection, ticket_id: int) -> Ticket:
    return _row(conn, ticket_id)


def tickets_for(conn: Connection, conversation_ids: list[str], reason: str) -> list[Ticket]:
    """A learner's tickets of one reason across their conversations, newest first, left out
    the cancelled ones (the learner went back to the bot before anyone looked)."""
    if not conversation_ids:
        return []
    rows = conn.execute(
        sa.select(TICKETS)
        .where(
            TICKETS.c.conversation_id.in_(conversation_ids),
            TICKETS.c.reason == reason,
            TICKETS.c.status != "cancelled",
        )
        .order_by(TICKETS.c.created_at.desc(), TICKETS.c.id.desc())
    )
    return [_ticket(r) for r in rows]


def open_ticket(conn: Connection, conversation_id: str) -> Ticket | None:
    row = conn.execute(
        sa.select(TICKETS)
        .where(TICKETS.c.conversation_id == conversation_id, TICKETS.c.status.in_(OPEN))
        .order_by(TICKETS.c.id)
        .limit(1)
    ).first()
    return _ticket(row) if row else None


def human_mode(conn: Connection, conversation_id: str) -> Ticket | None:
    """The open chat ticket that keeps the bot silent, if there is one."""
    ticket = open_ticket(conn, conversation_id)
    return ticket if ticket and ticket.channel == "chat" else None


# the first key of pg_advisory_xact_lock(int, int) for "a conversation's tickets" (the
# two-key lock space is apart from the one-key space migrations lock in, bot/migrations/env.py)
_CONVERSATION_LOCKS = 20_271_207


def _lock_conversation(conn: Connection, conversation_id: str) -> None:
    """Hold the conversation's ticket creation for ourselves until the transaction ends.

    A conversation has at most one open ticket, and creating one is "find the open ticket,
    else insert". On SQLite the caller's write unit of work already holds the database's one
    write lock (BEGIN IMMEDIATE), so two creations never interleave. On PostgreSQL (READ
    COMMITTED) two transactions could both find none and both insert, and locking rows cannot
    help: the row they would lock does not exist yet. A transaction-scoped advisory lock on a
    hash of the conversation id does: the second creation waits for the first to commit, and
    its next statement (a fresh snapshot under READ COMMITTED) finds that ticket. Two
    conversations sharing a hash only wait for each other briefly.

    Take it before touching any ticket of the conversation in the unit of work: a transaction
    that holds a ticket's row and then waits here could deadlock with one holding this lock
    and waiting for that row (PostgreSQL would cancel one of the two)."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=4).digest()
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:key AS integer))"),
            {"space": _CONVERSATION_LOCKS, "key": int.from_bytes(digest, "big", signed=True)},
        )


def create_ticket(
    conn: Connection,
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
    A reused ticket keeps its own reason and category.

    Two creations at once for one conversation give one ticket (`_lock_conversation`). The
    reuse is conditional on the ticket still being open: one resolved or cancelled in the
    meantime is not reopened, a new ticket is queued instead."""
    now = time.time() if now is None else now
    # the queue shows summaries to a whole team: a phone or card number in them is masked
    # (the transcript keeps what the learner wrote, for the agent who takes the case)
    summary = mask(summary)
    default_team, default_priority = route(intent, reason)
    team = team if team in TEAMS else default_team
    priority = priority if priority in PRIORITIES else default_priority
    _lock_conversation(conn, conversation_id)
    existing = open_ticket(conn, conversation_id)
    if existing:
        changes: dict[str, Any] = {}
        if PRIORITIES[priority] < PRIORITIES[existing.priority]:
            changes.update(priority=priority, priority_rank=PRIORITIES[priority])
        if channel == "chat" and existing.channel == "case":
            changes["channel"] = "chat"
        if summary and summary not in existing.summary:
            changes["summary"] = f"{existing.summary}\n{summary}".strip()
        # with nothing to change the update still checks (and holds) that it is open
        if _update(
            conn,
            existing.id,
            TICKETS.c.status.in_(OPEN),
            **(changes or {"status": TICKETS.c.status}),
        ):
            if changes:
                detail = json.dumps(changes, ensure_ascii=False)
                _event(conn, existing.id, "updated", "bot", detail, now)
            return _row(conn, existing.id)
    due = first_response_due(hours or BusinessHours(), datetime.fromtimestamp(now, UTC), priority)
    result = conn.execute(
        sa.insert(TICKETS).values(
            conversation_id=conversation_id,
            status="queued",
            channel=channel,
            reason=reason,
            intent=intent,
            category=category,
            order_id=order_id,
            priority=priority,
            priority_rank=PRIORITIES[priority],
            team=team,
            summary=summary,
            created_at=now,
            sla_due_at=due.timestamp(),
            queue_due_at=due.timestamp(),
        )
    )
    ticket_id = int(result.inserted_primary_key[0])
    _event(conn, ticket_id, "created", "bot", reason, now)
    return _row(conn, ticket_id)


def queue(
    conn: Connection, *, teams: list[str] | None = None, status: tuple[str, ...] = OPEN
) -> list[Ticket]:
    """Open tickets, waiting ones first (a claimed ticket already has its person), then the
    most urgent: priority, then the current queue's deadline, then age."""
    stmt = sa.select(TICKETS).where(TICKETS.c.status.in_(status))
    if teams:
        stmt = stmt.where(TICKETS.c.team.in_(teams))
    stmt = stmt.order_by(
        sa.case((TICKETS.c.status == "claimed", 1), else_=0),
        TICKETS.c.priority_rank,
        sa.func.coalesce(TICKETS.c.queue_due_at, TICKETS.c.sla_due_at),
        TICKETS.c.created_at,
        TICKETS.c.id,
    )
    return [_ticket(r) for r in conn.execute(stmt)]


def _team_label(team: str) -> str:
    return TEAMS.get(team, {}).get("en", team)


def _as_chat(conn: Connection, ticket_id: int, actor: str, now: float) -> None:
    """A person now talks to the learner: the case becomes a chat (human mode)."""
    if _update(conn, ticket_id, TICKETS.c.channel != "chat", channel="chat"):
        _event(conn, ticket_id, "updated", actor, json.dumps({"channel": "chat"}), now)


_STATUS_ZH = {"queued": "在排队", "claimed": "被接入", "resolved": "解决", "cancelled": "取消"}


def _check_team(ticket: Ticket, teams: list[str] | None) -> None:
    if teams is not None and ticket.team not in teams:
        zh = TEAMS.get(ticket.team, {}).get("zh", ticket.team)
        raise Forbidden(
            f"ticket {ticket.id} is for the {_team_label(ticket.team)} team, which you are "
            f"not in · 工单 #{ticket.id} 属于{zh}，您不在该组，不能接入"
        )


def claim(
    conn: Connection,
    ticket_id: int,
    agent: str,
    now: float | None = None,
    *,
    teams: list[str] | None = None,
) -> Ticket:
    """Take a queued ticket of one of `teams` (None: any team). Atomic: of two agents claiming
    at once, exactly one wins. A case becomes a chat: the agent is now talking to the learner."""
    now = time.time() if now is None else now
    ticket = _row(conn, ticket_id)  # raises NotFound
    _check_team(ticket, teams)
    # the team is part of the condition: a transfer between the read and the write loses
    if not _update(
        conn,
        ticket_id,
        TICKETS.c.status == "queued",
        TICKETS.c.team == ticket.team,
        status="claimed",
        claimed_by=agent,
        claimed_at=now,
    ):
        ticket = _row(conn, ticket_id)
        _check_team(ticket, teams)  # it moved to a team the agent is not in
        who = f" by {ticket.claimed_by}" if ticket.claimed_by else ""
        raise Conflict(
            f"ticket {ticket_id} is already {ticket.status}{who} · 工单 #{ticket_id} "
            f"已{_STATUS_ZH.get(ticket.status, ticket.status)}"
        )
    _event(conn, ticket_id, "claimed", agent, "", now)
    _as_chat(conn, ticket_id, agent, now)
    return _row(conn, ticket_id)


def _check_owned(ticket: Ticket, agent: str, override: bool = False) -> None:
    """The ticket is claimed, and `agent` holds it (or `override`: a manager acting on it)."""
    if ticket.status != "claimed":
        raise Conflict(
            f"ticket {ticket.id} is {ticket.status}, not claimed · 工单 #{ticket.id} "
            f"已{_STATUS_ZH.get(ticket.status, ticket.status)}，不在接入状态"
        )
    if ticket.claimed_by != agent and not override:
        raise Forbidden(
            f"ticket {ticket.id} is claimed by {ticket.claimed_by} · "
            f"工单 #{ticket.id} 由 {ticket.claimed_by} 接入"
        )


def _change_claimed(
    conn: Connection,
    ticket_id: int,
    agent: str,
    values: dict[str, Any],
    *,
    override: bool = False,
    check: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Apply `values` to a claimed ticket in ONE conditional update; returns the ticket as it
    was before.

    The ticket must be claimed by `agent` or, with `override` (a manager), by whoever held it
    when it was read: the update's condition holds that holder, so of two people acting on
    one ticket at once exactly one wins, and the other, whose update matches no row, gets the
    error the ticket's new state calls for (Conflict, Forbidden). `check` adds the
    operation's own rules; it runs on the ticket as read, and again after a lost update."""
    before = _row(conn, ticket_id)
    _check_owned(before, agent, override)
    if check:
        check(before)
    holder = before.claimed_by
    if not _update(
        conn, ticket_id, TICKETS.c.status == "claimed", TICKETS.c.claimed_by == holder, **values
    ):
        _lost(conn, ticket_id, agent, override, check)
    return before


def _lost(
    conn: Connection,
    ticket_id: int,
    agent: str,
    override: bool,
    check: Callable[[Ticket], None] | None = None,
) -> NoReturn:
    """Someone changed the ticket between our read and our update: say what it is now."""
    ticket = _row(conn, ticket_id)
    _check_owned(ticket, agent, override)
    if check:
        check(ticket)
    raise Conflict(
        f"ticket {ticket_id} changed while you acted on it; it is now claimed by "
        f"{ticket.claimed_by}. Reload and try again · 工单 #{ticket_id} 刚被他人处理，现由 "
        f"{ticket.claimed_by} 接入，请刷新后再试"
    )


def record_agent_reply(
    conn: Connection, ticket_id: int, agent: str, now: float | None = None
) -> Ticket:
    """Check the agent may reply, and start the first-response clock's stop if it is first.
    A case answered in the chat becomes a chat, so the learner's answer reaches the agent.

    The check is a conditional update too (claimed by `agent`), so a reply never lands on a
    ticket released or reassigned at the same moment; the first-response stamp is
    conditional on there being none yet, so two replies at once stamp once."""
    now = time.time() if now is None else now
    _change_claimed(conn, ticket_id, agent, {"claimed_by": agent})  # ours until we commit
    _as_chat(conn, ticket_id, agent, now)
    if _update(
        conn,
        ticket_id,
        TICKETS.c.first_response_at.is_(None),
        first_response_at=now,
        first_response_by=agent,
    ):
        _event(conn, ticket_id, "first_response", agent, "", now)
    return _row(conn, ticket_id)


def _queue_due(hours: BusinessHours | None, now: float) -> sa.ColumnElement[Any]:
    """A fresh deadline for the queue a ticket goes back to (now + its priority's target, in
    business hours), as an expression of the row's own priority: the update needs no read."""
    start = datetime.fromtimestamp(now, UTC)
    due = {
        p: first_response_due(hours or BusinessHours(), start, p).timestamp() for p in PRIORITIES
    }
    return sa.case(due, value=TICKETS.c.priority, else_=due["normal"])


def _requeue(team: str | sa.ColumnElement[Any], hours: BusinessHours | None, now: float) -> dict:
    """Back to `team`'s queue, unclaimed, with a fresh deadline for that queue (the
    first-response SLA stays)."""
    return {
        "status": "queued",
        "team": team,
        "claimed_by": None,
        "claimed_at": None,
        "queue_due_at": _queue_due(hours, now),
    }


def transfer(
    conn: Connection,
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
    _change_claimed(conn, ticket_id, agent, _requeue(team, hours, now), override=override)
    _event(conn, ticket_id, "transferred", agent, f"{team} {note}".strip(), now)
    return _row(conn, ticket_id)


def release(
    conn: Connection,
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
    values = _requeue(TICKETS.c.team, hours, now)
    before = _change_claimed(conn, ticket_id, agent, values, override=override)
    detail = json.dumps({"from": before.claimed_by, "note": note}, ensure_ascii=False)
    _event(conn, ticket_id, "released", agent, detail, now)
    return _row(conn, ticket_id)


def reassign(
    conn: Connection,
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
    first (Conflict otherwise). Of two managers reassigning one ticket at once, one wins."""
    now = time.time() if now is None else now

    def check(ticket: Ticket) -> None:
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

    values = {"claimed_by": to_agent, "claimed_at": now}
    before = _change_claimed(conn, ticket_id, manager, values, override=True, check=check)
    detail = json.dumps(
        {"from": before.claimed_by, "to": to_agent, "note": note}, ensure_ascii=False
    )
    _event(conn, ticket_id, "reassigned", manager, detail, now)
    return _row(conn, ticket_id)


def handover_notes(conn: Connection, ticket_id: int) -> list[dict]:
    """What agents and managers wrote when passing the ticket on (transfer, release,
    reassign), oldest first, for the next agent to read."""
    notes = []
    rows = conn.execute(
        sa.select(EVENTS.c.kind, EVENTS.c.actor, EVENTS.c.at, EVENTS.c.detail)
        .where(
            EVENTS.c.ticket_id == ticket_id,
            EVENTS.c.kind.in_(("transferred", "released", "reassigned")),
        )
        .order_by(EVENTS.c.id)
    )
    for e in rows:
        if e.kind == "transferred":
            team, _, note = (e.detail or "").partition(" ")
            info = {"team": team, "note": note}
        else:
            info = json.loads(e.detail or "{}")
        notes.append({"kind": e.kind, "actor": e.actor, "at": e.at, **info})
    return notes


def resolve(
    conn: Connection, ticket_id: int, agent: str, note: str = "", now: float | None = None
) -> Ticket:
    now = time.time() if now is None else now
    values = {"status": "resolved", "resolved_at": now, "resolution_note": note}
    _change_claimed(conn, ticket_id, agent, values)
    _event(conn, ticket_id, "resolved", agent, note, now)
    return _row(conn, ticket_id)


def settle(
    conn: Connection, ticket_id: int, actor: str, note: str = "", now: float | None = None
) -> Ticket | None:
    """Resolve an open ticket whoever holds it, or nobody: its work was done elsewhere (a
    privacy request carried out from its own console). None if it was closed already."""
    now = time.time() if now is None else now
    if not _update(
        conn,
        ticket_id,
        TICKETS.c.status.in_(OPEN),
        status="resolved",
        resolved_at=now,
        resolution_note=note,
    ):
        return None
    _event(conn, ticket_id, "resolved", actor, note, now)
    return _row(conn, ticket_id)


def _cancel(conn: Connection, ticket: Ticket, actor: str, now: float) -> Ticket | None:
    if not _update(
        conn, ticket.id, TICKETS.c.status.in_(OPEN), status="cancelled", resolved_at=now
    ):
        return None  # closed meanwhile: resolved, or withdrawn from the learner's other tab
    after = _row(conn, ticket.id)  # ours until we commit: who held it when it was cancelled
    _event(conn, ticket.id, "cancelled", actor, after.claimed_by or "", now)
    return after


def cancel(
    conn: Connection,
    conversation_id: str,
    actor: str = "learner",
    now: float | None = None,
) -> Ticket | None:
    """The learner withdraws the request, queued or claimed; the conversation goes back to
    the bot. The event's detail names the agent who held it, if one did.

    One conditional update (the ticket still open). None if there was no open ticket, also
    when it closed as we acted: an agent resolved it, or the learner's other tab withdrew it
    first (that tab gets the ticket; an agent acting after the cancel gets a Conflict)."""
    now = time.time() if now is None else now
    ticket = open_ticket(conn, conversation_id)
    return None if ticket is None else _cancel(conn, ticket, actor, now)


def leave_chat(
    conn: Connection,
    conversation_id: str,
    actor: str = "learner",
    now: float | None = None,
) -> Ticket | None:
    """The learner goes back to the bot. A ticket of `FOLLOW_UP_REASONS` stays open as a case
    (queued, or with the agent who holds it: the team still owes the learner an answer, given
    in the chat); any other is cancelled. Returns the ticket as it is now, None if there was
    no open ticket. The event's detail names the agent who held it, if one did.

    One conditional update either way (see `cancel`; a case, while the ticket is an open
    chat): leaving twice at once (two tabs) turns the chat into a case once, and both get
    the case."""
    now = time.time() if now is None else now
    ticket = open_ticket(conn, conversation_id)
    if ticket is None:
        return None
    if ticket.reason not in FOLLOW_UP_REASONS:
        return _cancel(conn, ticket, actor, now)
    open_chat = (TICKETS.c.status.in_(OPEN), TICKETS.c.channel == "chat")
    if not _update(conn, ticket.id, *open_chat, channel="case"):
        after = _row(conn, ticket.id)  # already a case, or closed meanwhile
        return after if after.is_open else None
    after = _row(conn, ticket.id)
    _event(conn, ticket.id, "left_chat", actor, after.claimed_by or "", now)
    return after


def rate(
    conn: Connection,
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
    # the condition makes two clicks at once rate once
    if not _update(
        conn,
        ticket_id,
        TICKETS.c.status == "resolved",
        TICKETS.c.csat.is_(None),
        csat=score,
        csat_comment=comment,
        csat_at=now,
    ):
        ticket = _row(conn, ticket_id)
        if ticket.status != "resolved":
            raise Conflict(
                f"ticket {ticket_id} is {ticket.status}; only resolved tickets are rated · "
                "只有已解决的工单可以评价"
            )
        raise AlreadyRated(f"ticket {ticket_id} is already rated · 该工单已评价过")
    return _row(conn, ticket_id)
