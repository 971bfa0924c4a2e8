"""The learner chat API: sign in, start a conversation, send, read, live updates, rate."""

import asyncio
import contextlib
import time

from fastapi import APIRouter, HTTPException, Response, WebSocket, WebSocketDisconnect
from sqlalchemy.engine import Connection

import handoff
from bot import access, auth, learner_tokens, transcript
from bot.api.deps import (
    KB,
    Address,
    AppSettings,
    CurrentLearner,
    CurrentPrincipal,
    DatabaseDep,
    DbRead,
    DbWrite,
    HubDep,
    Limits,
    Platform,
    conversation_for,
    revoked_topics,
)
from bot.api.schemas import (
    After,
    ConversationOut,
    CsatIn,
    FeedbackIn,
    LearnerLogin,
    MessagesOut,
    NewConversation,
    SendMessage,
    SendResult,
    TokenOut,
)
from bot.outbox import mode_of
from bot.router import RASA_WAIT
from bot.settings import Settings
from bot.transcript import Conversation
from kb_index import feedback as kb_feedback

router = APIRouter(prefix="/api", tags=["learner"])


def check_text(text: str, settings: Settings) -> str:
    """Empty or oversized messages are refused with a message the learner can act on."""
    if not text or not text.strip():
        raise HTTPException(422, "message text is empty")
    if len(text) > settings.max_message_chars:
        raise HTTPException(
            413, f"message is {len(text)} characters; the limit is {settings.max_message_chars}"
        )
    return text.strip()


@router.post("/auth/learner", response_model=TokenOut)
def learner_login(
    body: LearnerLogin,
    db: DatabaseDep,
    settings: AppSettings,
    platform: Platform,
    limits: Limits,
    address: Address,
) -> TokenOut:
    """Public. The course app's signed token for the learner (`token`), exchanged for a
    session that ends when it would have; in demo mode, a demo learner's id instead."""
    limits.hit("limit_sign_in", "sign-in attempts", address)
    if body.token is not None:
        try:
            claims = learner_tokens.verify(
                body.token,
                settings.learner_signing_secret,
                settings.learner_jwt_audience,
                settings.learner_jwt_max_age_s,
            )
        except learner_tokens.InvalidLearnerToken as e:
            raise HTTPException(401, str(e)) from e
        ttl = min(settings.learner_token_ttl_s, max(1, int(claims.expires - time.time())))
        token = db.writing(auth.issue_token, "learner", claims.id, ttl)
        return TokenOut(
            token=token,
            kind="learner",
            id=claims.id,
            display_name=claims.name or claims.id,
            roles=["learner"],
            locale=claims.locale,
            expires_at=time.time() + ttl,
        )
    if not settings.demo_mode:
        raise HTTPException(401, "sign in with the course app's token (`token`)")
    if body.learner_id is None:
        raise HTTPException(422, "a demo learner's id (`learner_id`) or a `token` is needed")
    learner = platform.learner(body.learner_id)
    if learner is None:
        raise HTTPException(404, f"no demo learner {body.learner_id}")
    ttl = settings.learner_token_ttl_s
    token = db.writing(auth.issue_token, "learner", body.learner_id, ttl)
    return TokenOut(
        token=token,
        kind="learner",
        id=body.learner_id,
        display_name=learner.name,
        roles=["learner"],
        locale=learner.lang if learner.lang in ("zh", "en") else None,
        expires_at=time.time() + ttl,
    )


@router.get("/demo/learners")
def demo_learners(settings: AppSettings, platform: Platform) -> list[dict]:
    """Public, in demo mode only: the learners the chat page lets anyone pick."""
    if not settings.demo_mode:
        raise HTTPException(404, "there are no demo learners outside demo mode")
    return [{"id": p.id, "name": p.name, "lang": p.lang} for p in platform.learners()]


def _conversation_out(db: Connection, conv: Conversation, settings: Settings) -> ConversationOut:
    ticket = handoff.open_ticket(db, conv.id)
    return ConversationOut(
        conversation=conv,
        mode=mode_of(db, conv.id),
        ticket=ticket.model_dump() if ticket else None,
        max_message_chars=settings.max_message_chars,
    )


@router.post("/conversations", response_model=ConversationOut, status_code=201)
def start_conversation(
    learner: CurrentLearner,
    db: DatabaseDep,
    platform: Platform,
    settings: AppSettings,
    limits: Limits,
    body: NewConversation | None = None,
) -> ConversationOut:
    limits.hit("limit_conversations", "new conversations", learner.id)
    # the platform is asked before the unit of work: it is a remote service
    lang = (body.lang if body else None) or getattr(platform.learner(learner.id), "lang", "zh")
    with db.write() as conn:
        conv = transcript.create_conversation(conn, learner.id, lang or "zh")
        return _conversation_out(conn, conv, settings)


@router.get("/conversations/open", response_model=ConversationOut)
def open_conversation(
    learner: CurrentLearner, db: DbRead, settings: AppSettings
) -> ConversationOut:
    """The learner's latest conversation that still has an open ticket: a second tab (or a
    new browser) must join the chat a person answers in, not start a second one."""
    found = transcript.open_ticket_conversation(db, learner.id)
    if found is None:
        raise HTTPException(404, "no conversation is waiting for a person")
    return _conversation_out(db, conversation_for(db, learner, found), settings)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: str, who: CurrentPrincipal, db: DbRead, settings: AppSettings
) -> ConversationOut:
    return _conversation_out(db, conversation_for(db, who, conversation_id), settings)


@router.post("/conversations/{conversation_id}/messages", response_model=SendResult)
async def send_message(
    conversation_id: str,
    body: SendMessage,
    learner: CurrentLearner,
    db: DatabaseDep,
    hub: HubDep,
    settings: AppSettings,
    response: Response,
    limits: Limits,
    address: Address,
) -> SendResult:
    """Stores the message before anything else can fail, then routes it (bot/router.py).
    No transaction is held while the bot thinks: each step is its own unit of work. The
    `Server-Timing` header says how long the turn waited for Rasa and how long the hub took
    itself."""
    started = time.perf_counter()
    RASA_WAIT.set(0.0)
    text = check_text(body.text, settings)
    limits.hit("limit_messages", "messages", learner.id)
    limits.hit("limit_messages_address", "messages", address)
    turn = await hub.router.learner_says(
        learner.id, conversation_id, text, body.payload, body.client_id
    )
    if turn is None:  # a learner probing someone else's id learns nothing about it
        raise HTTPException(404, f"conversation {conversation_id} not found")
    message, *replies = turn.messages
    result = SendResult(message=message, replies=replies, mode=turn.mode)
    rasa = RASA_WAIT.get()
    hub_ms = (time.perf_counter() - started - rasa) * 1000
    response.headers["Server-Timing"] = f"rasa;dur={rasa * 1000:.1f}, hub;dur={hub_ms:.1f}"
    return result


@router.get("/conversations/{conversation_id}/messages", response_model=MessagesOut)
def read_messages(
    conversation_id: str, who: CurrentPrincipal, db: DbRead, after: After = 0
) -> MessagesOut:
    conv = conversation_for(db, who, conversation_id)
    return MessagesOut(
        messages=transcript.messages(db, conv.id, after=after), mode=mode_of(db, conv.id)
    )


@router.post("/conversations/{conversation_id}/back-to-bot", response_model=ConversationOut)
def back_to_bot(
    conversation_id: str, learner: CurrentLearner, db: DbWrite, hub: HubDep, settings: AppSettings
) -> ConversationOut:
    conv = conversation_for(db, learner, conversation_id)
    hub.tickets.back_to_bot(db, conv)
    return _conversation_out(db, conv, settings)


@router.post("/conversations/{conversation_id}/csat")
def rate(
    conversation_id: str, body: CsatIn, learner: CurrentLearner, db: DbWrite, hub: HubDep
) -> dict:
    conv = conversation_for(db, learner, conversation_id)
    ticket = hub.tickets.rate(db, conv, body.score, body.comment, ticket_id=body.ticket_id)
    return {"ticket_id": ticket.id, "csat": ticket.csat, "comment": ticket.csat_comment}


AUTH_TIMEOUT_S = 10  # for the first frame, which carries the token
RECHECK_S = 15  # how often an open socket's sign-in is checked again


@router.websocket("/conversations/{conversation_id}/ws")
async def conversation_socket(websocket: WebSocket, conversation_id: str) -> None:
    """Pushes every new message of one conversation (and mode changes) as JSON. Learners
    (their own conversation) and staff who may read it (bot/access.py).

    The token comes in the first frame, `{"type": "auth", "token": "..."}`, never in the URL
    (access logs write URLs down); ?after=<message id> replays what was missed. The sign-in
    is checked again every few seconds: a token that expired, signed out or belongs to a
    disabled account closes the socket (4401), at once when this process revoked it.
    """
    db = websocket.app.state.db
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT_S)
    except (TimeoutError, ValueError, WebSocketDisconnect, RuntimeError):
        first = None
    token = first.get("token") if isinstance(first, dict) else None
    token = token if isinstance(token, str) and 0 < len(token) < 512 else ""
    principal = await db.aread(auth.principal_for, token) if token else None
    if principal is None:
        await websocket.close(code=4401, reason="missing or expired token")
        return
    if not await db.aread(_may_read, principal, conversation_id):
        await websocket.close(code=4404, reason=f"conversation {conversation_id} not found")
        return
    hub = websocket.app.state.hub
    broadcaster = hub.broadcaster
    topics = [f"conv:{conversation_id}", *revoked_topics(token, principal)]
    queues = [broadcaster.subscribe(t) for t in topics]  # before the replay: nothing falls between
    learner = principal.kind == "learner"
    if learner:  # the agent console shows whether the learner still has the chat open
        hub.presence.page(conversation_id, opened=True)
    try:
        after = int(websocket.query_params.get("after") or 0)
        seen = after
        missed, mode = await db.aread(_replay, conversation_id, after)
        for msg in missed:
            await websocket.send_json({"type": "message", "message": msg.model_dump()})
            seen = msg.id
        await websocket.send_json({"type": "mode", "mode": mode})
        receiver = asyncio.create_task(_drain(websocket))
        checked = time.monotonic()
        while not receiver.done():
            getters = {asyncio.create_task(q.get()) for q in queues}
            done, _ = await asyncio.wait(
                {*getters, receiver}, timeout=RECHECK_S, return_when=asyncio.FIRST_COMPLETED
            )
            for g in getters - done:
                g.cancel()
            if receiver in done:
                break
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                if not await db.aread(_still_signed_in, token, principal, conversation_id):
                    await websocket.close(code=4401, reason="signed out")
                    return
            for getter in getters & done:
                event = getter.result()
                if event.get("type") == "revoked":
                    await websocket.close(code=4401, reason="signed out")
                    return
                if learner and event.get("type") == "presence":
                    continue  # for the agent console: the learner's own page has no use for it
                if event.get("type") == "message":
                    if event["message"]["id"] <= seen:
                        continue
                    seen = event["message"]["id"]
                await websocket.send_json(event)
    except WebSocketDisconnect:
        pass
    finally:
        for topic, queue in zip(topics, queues, strict=True):
            broadcaster.unsubscribe(topic, queue)
        if learner:
            hub.presence.page(conversation_id, opened=False)
        with contextlib.suppress(Exception):
            await websocket.close()


def _may_read(conn: Connection, who: auth.Principal, conversation_id: str) -> bool:
    conv = transcript.get_conversation(conn, conversation_id)
    return conv is not None and access.may_read_conversation(conn, who, conv)


def _still_signed_in(
    conn: Connection, token: str, who: auth.Principal, conversation_id: str
) -> bool:
    now = auth.principal_for(conn, token)
    return now is not None and now.roles == who.roles and _may_read(conn, now, conversation_id)


def _replay(
    conn: Connection, conversation_id: str, after: int
) -> tuple[list[transcript.Message], str]:
    return transcript.messages(conn, conversation_id, after=after), mode_of(conn, conversation_id)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client frames so a closed socket is noticed promptly."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


@router.post("/conversations/{conversation_id}/feedback")
def learner_feedback(
    conversation_id: str,
    body: FeedbackIn,
    learner: CurrentLearner,
    db: DbWrite,
    hub: HubDep,
    kb: KB,
) -> dict:
    """👍/👎 on a KB answer. "Not helpful" logs a gap and offers the next-best entries (a KB
    search: a plain `def`, so it runs in a worker thread, off the event loop)."""
    conv = conversation_for(db, learner, conversation_id)
    msg = next(
        (
            m
            for m in transcript.messages(db, conv.id, after=body.message_id - 1, limit=1)
            if m.id == body.message_id
        ),
        None,
    )
    cited = (msg.payload.get("citation") or {}).get("id") if msg else None
    if cited != body.entry_id:
        raise HTTPException(422, "that message did not cite that entry")
    kb_feedback.record(
        db,
        entry_id=body.entry_id,
        conversation_id=conv.id,
        message_id=body.message_id,
        helpful=body.helpful,
    )
    if body.helpful:
        return {"recorded": True}
    reply = hub.router.offer_alternatives(db, conv, body.message_id, body.entry_id, kb)
    return {
        "recorded": True,
        "reply": reply.model_dump(),
    }
