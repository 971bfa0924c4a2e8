"""The agent console API: the queue, claiming, replying, transferring, releasing and resolving.

Who may do what: an agent sees and claims the tickets of their own teams; a manager (or
admin) may look at any team, claim any ticket, and release, transfer or reassign a ticket
another agent holds, so that no learner stays with an agent who has gone.
"""

import time
from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy.engine import Connection

import handoff
from bot import audit, auth, transcript
from bot.api.deps import (
    Address,
    AppSettings,
    CurrentAgent,
    DatabaseDep,
    DbRead,
    DbWrite,
    HubDep,
    Platform,
    conversation_for,
    ticket_for,
)
from bot.api.learner import check_text
from bot.api.schemas import (
    After,
    AgentReply,
    MessagesOut,
    ReassignIn,
    ReleaseIn,
    ResolveIn,
    TicketId,
    TransferIn,
)
from bot.auth import Principal
from bot.outbox import mode_of
from bot.transcript import Message

router = APIRouter(prefix="/api/agent", tags=["agent"])


def _supervises(agent: Principal) -> bool:
    """Managers and admins act on any team's tickets."""
    return agent.has("manager")


def _due_at(ticket: handoff.Ticket) -> float | None:
    """The deadline the console counts down to: a waiting ticket's queue deadline (fresh after
    a transfer or release); a claimed one's first-response SLA until someone answers."""
    if ticket.status == "queued":
        return ticket.queue_due_at or ticket.sla_due_at
    if ticket.status == "claimed" and ticket.first_response_at is None:
        return ticket.sla_due_at
    return None


def _ticket_view(
    db: Connection, platform: Any, ticket: handoff.Ticket, now: float, hub: Any = None
) -> dict:
    conv = transcript.get_conversation(db, ticket.conversation_id)
    learner = platform.learner(conv.learner_id) if conv else None
    last = transcript.recent_learner_text(db, ticket.conversation_id, 1)
    due = _due_at(ticket)
    return {
        **ticket.model_dump(),
        "team_name": handoff.team_name(ticket.team, "en"),
        "team_name_zh": handoff.team_name(ticket.team, "zh"),
        "learner_id": conv.learner_id if conv else None,
        "learner_name": learner.name if learner else (conv.learner_id if conv else ""),
        "lang": conv.lang if conv else None,
        "last_learner_text": last[0] if last else "",
        "waiting_s": round(now - ticket.created_at),
        # the first-response SLA: once breached, a transfer does not clear it
        "sla_breached": ticket.first_response_at is None and now > ticket.sla_due_at,
        "due_at": due,
        "due_in_s": round(due - now) if due is not None else None,
        "notes": handoff.handover_notes(db, ticket.id),
        # the learner has the chat page open (None: not known to this call)
        "learner_online": hub.presence.online(ticket.conversation_id) if hub else None,
    }


def _check_team(agent: Principal, team: str) -> None:
    if team not in handoff.TEAMS:
        raise HTTPException(404, f"no team {team!r} · 没有这个组")
    if not _supervises(agent) and team not in agent.teams:
        raise HTTPException(
            403,
            f"you are not in the {handoff.team_name(team, 'en')} team · "
            f"您不在{handoff.team_name(team, 'zh')}",
        )


@router.get("/queue")
def queue(
    agent: CurrentAgent,
    db: DbRead,
    platform: Platform,
    hub: HubDep,
    team: str | None = None,
    mine: bool = False,
) -> list[dict]:
    """Open tickets, waiting ones first, in priority and deadline order; ?team= narrows to one
    of the caller's teams (any team for managers), ?mine=true to the caller's claimed tickets.
    By default an agent sees the teams they belong to."""
    if team:
        _check_team(agent, team)
    if _supervises(agent):
        tickets = handoff.queue(db, teams=[team] if team else None)
    elif team or agent.teams:
        tickets = handoff.queue(db, teams=[team] if team else agent.teams)
    else:  # an agent in no team works only on what they hold
        tickets = [t for t in handoff.queue(db) if t.claimed_by == agent.id]
    if mine:
        tickets = [t for t in tickets if t.claimed_by == agent.id]
    now = time.time()
    return [_ticket_view(db, platform, t, now, hub) for t in tickets]


@router.get("/teams")
def teams(agent: CurrentAgent) -> dict:
    """Every team's name in both languages; `mine` lists the teams the caller may filter to
    (every team for managers)."""
    mine = list(handoff.TEAMS) if _supervises(agent) else agent.teams
    return {
        "teams": {k: {"en": v["en"], "zh": v["zh"]} for k, v in handoff.TEAMS.items()},
        "mine": mine,
    }


@router.get("/agents")
def agents(agent: CurrentAgent, db: DbRead) -> list[dict]:
    """The people a manager can reassign a ticket to."""
    if not _supervises(agent):
        raise HTTPException(403, "only managers reassign tickets · 只有主管可以改派工单")
    return [
        {
            "id": row["username"],
            "display_name": row["display_name"],
            "teams": row["teams"],
            # may hold any team's ticket (a manager); others only their teams' (reassign)
            "any_team": bool(set((row.get("roles") or "").split(",")) & {"manager", "admin"}),
        }
        for row in auth.staff_members(db)
        if _is_agent(row)
    ]


def _is_agent(row: dict) -> bool:
    roles = set((row.get("roles") or "").split(","))
    return bool(roles & {"agent", "manager", "admin"})


@router.get("/tickets/{ticket_id}")
def ticket(
    ticket_id: TicketId, agent: CurrentAgent, db: DbRead, platform: Platform, hub: HubDep
) -> dict:
    return _ticket_view(db, platform, ticket_for(db, agent, ticket_id), time.time(), hub)


@router.post("/tickets/{ticket_id}/claim")
def claim(ticket_id: TicketId, agent: CurrentAgent, db: DbWrite, hub: HubDep) -> dict:
    """Atomic: of two agents claiming at once, one wins and the other gets a 409."""
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    teams = None if _supervises(agent) else agent.teams
    return hub.tickets.claim(db, ticket_id, agent.id, agent.display_name, teams=teams).model_dump()


@router.post("/tickets/{ticket_id}/reply", response_model=Message)
def reply(
    ticket_id: TicketId,
    body: AgentReply,
    agent: CurrentAgent,
    db: DbWrite,
    hub: HubDep,
    settings: AppSettings,
) -> Message:
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    text = check_text(body.text, settings)
    return hub.tickets.reply(db, ticket_id, agent.id, agent.display_name, text)


@router.post("/tickets/{ticket_id}/transfer")
def transfer(
    ticket_id: TicketId, body: TransferIn, agent: CurrentAgent, db: DbWrite, hub: HubDep
) -> dict:
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    return hub.tickets.transfer(
        db, ticket_id, agent.id, body.team, body.note, override=_supervises(agent)
    ).model_dump()


@router.post("/tickets/{ticket_id}/release")
def release(
    ticket_id: TicketId, body: ReleaseIn, agent: CurrentAgent, db: DbWrite, hub: HubDep
) -> dict:
    """Back to the ticket's own team queue: the owner, or a manager for anyone's ticket."""
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    ticket = hub.tickets.release(db, ticket_id, agent.id, body.note, override=_supervises(agent))
    return ticket.model_dump()


@router.post("/tickets/{ticket_id}/reassign")
def reassign(
    ticket_id: TicketId, body: ReassignIn, agent: CurrentAgent, db: DbWrite, hub: HubDep
) -> dict:
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    if not _supervises(agent):
        raise HTTPException(403, "only managers reassign tickets · 只有主管可以改派工单")
    member = auth.staff_member(db, body.agent)
    if member is None or not _is_agent(member):
        raise HTTPException(404, f"no agent {body.agent!r} · 没有这位客服")
    name = member["display_name"] or body.agent
    # like claiming: only an agent of the ticket's team holds it (managers: any team)
    roles = set((member.get("roles") or "").split(","))
    to_teams = None if roles & {"manager", "admin"} else _teams_of(member)
    return hub.tickets.reassign(
        db, ticket_id, agent.id, body.agent, name, body.note, to_teams=to_teams
    ).model_dump()


def _teams_of(row: dict) -> list[str]:
    return [t for t in (row.get("teams") or "").split(",") if t]


@router.post("/tickets/{ticket_id}/resolve")
def resolve(
    ticket_id: TicketId, body: ResolveIn, agent: CurrentAgent, db: DbWrite, hub: HubDep
) -> dict:
    ticket_for(db, agent, ticket_id)  # another team's ticket: 404, its state untold
    return hub.tickets.resolve(db, ticket_id, agent.id, agent.display_name, body.note).model_dump()


@router.get("/conversations/{conversation_id}/messages", response_model=MessagesOut)
def conversation_messages(
    conversation_id: str,
    agent: CurrentAgent,
    db: DbRead,
    database: DatabaseDep,
    address: Address,
    after: After = 0,
) -> MessagesOut:
    """The whole transcript, the bot's part included. Reading it from the start is in the
    audit log (recorded before it is served; bot/audit.py); fetching what came after a
    message already shown is not."""
    conv = conversation_for(db, agent, conversation_id)
    if after == 0:
        database.writing(
            audit.record_read,
            "transcript.read",
            actor=agent.id,
            subject=f"conversation:{conv.id}",
            learner_id=conv.learner_id,
            address=address,
        )
    return MessagesOut(
        messages=transcript.messages(db, conv.id, after=after, limit=5000),
        mode=mode_of(db, conv.id),
    )


@router.get("/conversations/{conversation_id}/learner")
def learner_profile(
    conversation_id: str,
    agent: CurrentAgent,
    db: DbRead,
    database: DatabaseDep,
    platform: Platform,
    address: Address,
) -> dict:
    """Who the learner is and what they bought, beside the transcript (audited)."""
    conv = conversation_for(db, agent, conversation_id)
    database.writing(
        audit.record_read,
        "learner.read",
        actor=agent.id,
        subject=f"learner:{conv.learner_id}",
        learner_id=conv.learner_id,
        address=address,
    )
    learner = platform.learner(conv.learner_id)
    if learner is None:
        raise HTTPException(404, f"learner {conv.learner_id} is not known to the platform")
    return {
        "learner": learner.model_dump(),
        "orders": [o.model_dump() for o in platform.orders(learner.id)],
        "refunds": [r.model_dump() for r in platform.refunds(learner.id)],
    }
