"""The agent console API: the queue, claiming, replying, transferring and resolving."""

import time

from fastapi import APIRouter, HTTPException

import handoff
from bot import transcript
from bot.api.deps import AppSettings, CurrentAgent, Db, HubDep, Platform, conversation_for
from bot.api.learner import check_text
from bot.api.schemas import AgentReply, MessagesOut, ResolveIn, TransferIn
from bot.chat import mode_of
from bot.transcript import Message

router = APIRouter(prefix="/api/agent", tags=["agent"])


def _ticket_view(db, platform, ticket: handoff.Ticket, now: float) -> dict:  # type: ignore[no-untyped-def]
    conv = transcript.get_conversation(db, ticket.conversation_id)
    learner = platform.learner(conv.learner_id) if conv else None
    last = list(
        db["messages"].rows_where(
            "conversation_id = ? AND sender = 'learner'",
            [ticket.conversation_id],
            order_by="id desc",
            limit=1,
        )
    )
    return {
        **ticket.model_dump(),
        "team_name": handoff.team_name(ticket.team, "en"),
        "learner_id": conv.learner_id if conv else None,
        "learner_name": learner.name if learner else (conv.learner_id if conv else ""),
        "lang": conv.lang if conv else None,
        "last_learner_text": last[0]["text"] if last else "",
        "waiting_s": round(now - ticket.created_at),
        "sla_breached": ticket.first_response_at is None and now > ticket.sla_due_at,
    }


@router.get("/queue")
def queue(
    agent: CurrentAgent, db: Db, platform: Platform, team: str | None = None, mine: bool = False
) -> list[dict]:
    """Open tickets in priority and SLA order; ?team= narrows to one team, ?mine=true to
    the caller's claimed tickets. By default an agent sees the teams they belong to."""
    teams = [team] if team else (agent.teams or None)
    tickets = handoff.queue(db, teams=teams)
    if mine:
        tickets = [t for t in tickets if t.claimed_by == agent.id]
    now = time.time()
    return [_ticket_view(db, platform, t, now) for t in tickets]


@router.get("/teams")
def teams(agent: CurrentAgent) -> dict:
    return {k: v["en"] for k, v in handoff.TEAMS.items()}


@router.get("/tickets/{ticket_id}")
def ticket(ticket_id: int, agent: CurrentAgent, db: Db, platform: Platform) -> dict:
    return _ticket_view(db, platform, handoff.get_ticket(db, ticket_id), time.time())


@router.post("/tickets/{ticket_id}/claim")
def claim(ticket_id: int, agent: CurrentAgent, hub: HubDep) -> dict:
    return hub.claim(ticket_id, agent.id, agent.display_name).model_dump()


@router.post("/tickets/{ticket_id}/reply", response_model=Message)
def reply(
    ticket_id: int, body: AgentReply, agent: CurrentAgent, hub: HubDep, settings: AppSettings
) -> Message:
    text = check_text(body.text, settings)
    return hub.agent_reply(ticket_id, agent.id, agent.display_name, text)


@router.post("/tickets/{ticket_id}/transfer")
def transfer(ticket_id: int, body: TransferIn, agent: CurrentAgent, hub: HubDep) -> dict:
    return hub.transfer(ticket_id, agent.id, body.team, body.note).model_dump()


@router.post("/tickets/{ticket_id}/resolve")
def resolve(ticket_id: int, body: ResolveIn, agent: CurrentAgent, hub: HubDep) -> dict:
    return hub.resolve(ticket_id, agent.id, agent.display_name, body.note).model_dump()


@router.get("/conversations/{conversation_id}/messages", response_model=MessagesOut)
def conversation_messages(
    conversation_id: str, agent: CurrentAgent, db: Db, after: int = 0
) -> MessagesOut:
    """The whole transcript, the bot's part included."""
    conv = conversation_for(db, agent, conversation_id)
    return MessagesOut(
        messages=transcript.messages(db, conv.id, after=after, limit=5000),
        mode=mode_of(db, conv.id),
    )


@router.get("/conversations/{conversation_id}/learner")
def learner_profile(conversation_id: str, agent: CurrentAgent, db: Db, platform: Platform) -> dict:
    """Who the learner is and what they bought, beside the transcript."""
    conv = conversation_for(db, agent, conversation_id)
    learner = platform.learner(conv.learner_id)
    if learner is None:
        raise HTTPException(404, f"learner {conv.learner_id} is not known to the platform")
    return {
        "learner": learner.model_dump(),
        "orders": [o.model_dump() for o in platform.orders(learner.id)],
        "refunds": [r.model_dump() for r in platform.refunds(learner.id)],
    }
