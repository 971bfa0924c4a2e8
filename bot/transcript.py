"""Conversations and their transcript: every learner, bot, agent and system message.

Each function runs inside the caller's unit of work (a `Connection` from bot/db.py).

A learner message is stored first, before anything can fail. It may carry the learner's own
id for it (`client_id`): sending it again returns the stored message and whatever answered it
(`replies_to`), so a resend after a lost response never runs a second turn. The hub's
answers point back at the message they answer (`reply_to`), and the message is marked
handled (`handled_at`) when the hub is done with it: its replies are stored, the learner got
a notice, or the agent who has the chat sees it. A learner message left unhandled was cut
short by a crash (bot/recovery.py).
"""

import json
import secrets
import time
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from bot.tables import conversations as C
from bot.tables import messages as M
from handoff.tables import tickets as T

Sender = Literal["learner", "bot", "agent", "system"]


class Conversation(BaseModel):
    id: str
    learner_id: str
    lang: str = "zh"
    created_at: float
    last_message_at: float | None = None


class Message(BaseModel):
    id: int
    conversation_id: str
    sender: Sender
    text: str
    author: str | None = None  # the agent's username for agent messages
    lang: str | None = None
    intent: str | None = None
    confidence: float | None = None
    payload: dict[str, Any] = Field(default_factory=dict)  # buttons, events, citations
    created_at: float
    client_id: str | None = None  # the learner's own id for the message, if it sent one
    reply_to: int | None = None  # the learner message a bot or hub message answers


# ---- conversations -----------------------------------------------------------------------


def create_conversation(conn: Connection, learner_id: str, lang: str = "zh") -> Conversation:
    conv = Conversation(
        id="c_" + secrets.token_hex(8), learner_id=learner_id, lang=lang, created_at=time.time()
    )
    conn.execute(sa.insert(C).values(**conv.model_dump()))
    return conv


def conversation_ids(conn: Connection, learner_id: str) -> list[str]:
    """Every conversation of a learner (for what the bot should remember across chats)."""
    return list(conn.scalars(sa.select(C.c.id).where(C.c.learner_id == learner_id)))


def get_conversation(conn: Connection, conversation_id: str) -> Conversation | None:
    row = conn.execute(sa.select(C).where(C.c.id == conversation_id)).mappings().first()
    return Conversation(**row) if row else None


def conversation_and_question(
    conn: Connection, conversation_id: str
) -> tuple[Conversation | None, tuple[str, str] | None]:
    """The conversation and the form question it left open (`asking`), in one query."""
    row = conn.execute(sa.select(C).where(C.c.id == conversation_id)).mappings().first()
    if row is None:
        return None, None
    form, _, slot = (row["asking"] or "").partition("/")
    return Conversation(**row), ((form, slot) if form and slot else None)


def set_lang(conn: Connection, conversation_id: str, lang: str) -> None:
    """The conversation's language when the bot decided otherwise than the hub's reading."""
    conn.execute(sa.update(C).where(C.c.id == conversation_id).values(lang=lang))


def set_asking(conn: Connection, conversation_id: str, asking: tuple[str, str] | None) -> None:
    """Record the form question the bot left open (None: no form is asking)."""
    value = "/".join(asking) if asking else None
    conn.execute(sa.update(C).where(C.c.id == conversation_id).values(asking=value))


def asking(conn: Connection, conversation_id: str) -> tuple[str, str] | None:
    """The form and slot the bot's last turn asked for, if a form is still asking."""
    value = conn.scalar(sa.select(C.c.asking).where(C.c.id == conversation_id))
    form, _, slot = (value or "").partition("/")
    return (form, slot) if form and slot else None


# ---- messages ------------------------------------------------------------------------------


def _message(row: Any) -> Message:
    return Message(**{**row, "payload": json.loads(row["payload"] or "{}")})


def _tapped(sender: str, payload: dict[str, Any] | None) -> int:
    """A learner message that was a tapped (or typed) form option: a plain-value payload."""
    tapped = (payload or {}).get("payload") if sender == "learner" else None
    return int(bool(tapped) and not str(tapped).startswith("/"))


def add_message(
    conn: Connection,
    conversation_id: str,
    sender: Sender,
    text: str,
    *,
    author: str | None = None,
    lang: str | None = None,
    payload: dict[str, Any] | None = None,
    client_id: str | None = None,
    reply_to: int | None = None,
    touch: bool = True,
) -> Message:
    """Store a message. `touch=False` leaves the conversation's last_message_at to the
    caller, who stores several at once (a turn's replies) and touches it once."""
    now = time.time()
    row = (
        conn.execute(
            sa.insert(M)
            .values(
                conversation_id=conversation_id,
                sender=sender,
                text=text,
                author=author,
                lang=lang,
                payload=json.dumps(payload or {}, ensure_ascii=False),
                created_at=now,
                client_id=client_id,
                tapped=_tapped(sender, payload),
                reply_to=reply_to,
            )
            .returning(*M.c)
        )
        .mappings()
        .one()
    )
    if touch or (sender == "learner" and lang):
        fields: dict[str, Any] = {"last_message_at": now}
        if sender == "learner" and lang:
            fields["lang"] = lang  # replies follow the learner's latest language
        conn.execute(sa.update(C).where(C.c.id == conversation_id).values(**fields))
    return _message(row)


def add_replies(
    conn: Connection,
    conversation_id: str,
    replies: list[dict[str, Any]],
    *,
    lang: str,
    reply_to: int,
) -> list[Message]:
    """A turn's replies (each {"text", "payload"}) from the bot, in one statement: a round
    trip to the database server per reply added up on a busy machine."""
    if not replies:
        return []
    now = time.time()
    rows = conn.execute(
        sa.insert(M).returning(*M.c, sort_by_parameter_order=True),
        [
            {
                "conversation_id": conversation_id,
                "sender": "bot",
                "text": r["text"],
                "author": None,
                "lang": lang,
                "payload": json.dumps(r["payload"] or {}, ensure_ascii=False),
                "created_at": now,
                "client_id": None,
                "tapped": 0,
                "reply_to": reply_to,
            }
            for r in replies
        ],
    ).mappings()
    return [_message(r) for r in rows]


def update_conversation(conn: Connection, conversation_id: str, **fields: Any) -> None:
    """Set the conversation's fields (`asking` as a (form, slot) pair or None) and its
    last_message_at, in one statement."""
    if "asking" in fields:
        asking = fields["asking"]
        fields["asking"] = "/".join(asking) if asking else None
    conn.execute(
        sa.update(C).where(C.c.id == conversation_id).values(last_message_at=time.time(), **fields)
    )


def by_client_id(conn: Connection, conversation_id: str, client_id: str) -> Message | None:
    """The learner message stored under the learner's own id, if it was sent before."""
    row = (
        conn.execute(
            sa.select(M).where(M.c.conversation_id == conversation_id, M.c.client_id == client_id)
        )
        .mappings()
        .first()
    )
    return _message(row) if row else None


def replies_to(conn: Connection, message: Message) -> list[Message]:
    """What the hub said in answer to a learner message, so far."""
    rows = conn.execute(
        sa.select(M)
        .where(M.c.conversation_id == message.conversation_id, M.c.reply_to == message.id)
        .order_by(M.c.id)
    ).mappings()
    return [_message(r) for r in rows]


def mark_handled(conn: Connection, message_id: int) -> None:
    """The hub is done with a learner message (its replies or notice are stored, or the
    agent who has the chat sees it)."""
    conn.execute(
        sa.update(M)
        .where(M.c.id == message_id, M.c.handled_at.is_(None))
        .values(handled_at=time.time())
    )


def unhandled(conn: Connection, before: float, limit: int = 500) -> list[Message]:
    """Learner messages stored before `before` that the hub never finished with."""
    rows = conn.execute(
        sa.select(M)
        .where(M.c.sender == "learner", M.c.handled_at.is_(None), M.c.created_at < before)
        .order_by(M.c.id)
        .limit(limit)
    ).mappings()
    return [_message(r) for r in rows]


def get_message(conn: Connection, message_id: int) -> Message:
    return _message(conn.execute(sa.select(M).where(M.c.id == message_id)).mappings().one())


def mark_answer(conn: Connection, message_id: int, slot: str) -> None:
    """Record that a learner message was taken as the answer to a form's `slot`."""
    conn.execute(sa.update(M).where(M.c.id == message_id).values(answers=slot))


def annotate(
    conn: Connection, message_id: int, intent: str | None, confidence: float | None
) -> Message:
    row = (
        conn.execute(
            sa.update(M)
            .where(M.c.id == message_id)
            .values(intent=intent, confidence=confidence)
            .returning(*M.c)
        )
        .mappings()
        .one()
    )
    return _message(row)


def messages(
    conn: Connection, conversation_id: str, after: int = 0, limit: int = 500
) -> list[Message]:
    rows = conn.execute(
        sa.select(M)
        .where(M.c.conversation_id == conversation_id, M.c.id > after)
        .order_by(M.c.id)
        .limit(limit)
    ).mappings()
    return [_message(r) for r in rows]


def offered_buttons(conn: Connection, conversation_id: str) -> list[dict[str, Any]]:
    """The buttons of the bot's latest message, if the learner has not written since."""
    rows = conn.execute(
        sa.select(M)
        .where(M.c.conversation_id == conversation_id, M.c.sender.in_(("bot", "learner")))
        .order_by(M.c.id.desc())
        .limit(5)
    ).mappings()
    for row in rows:
        if row["sender"] == "learner":
            return []
        buttons = _message(row).payload.get("buttons")
        if buttons:
            return list(buttons)
    return []


def recent_learner_text(conn: Connection, conversation_id: str, n: int = 3) -> list[str]:
    texts = conn.scalars(
        sa.select(M.c.text)
        .where(M.c.conversation_id == conversation_id, M.c.sender == "learner")
        .order_by(M.c.id.desc())
        .limit(n)
    )
    return list(texts)[::-1]


def topic_rows(conn: Connection, conversation_id: str, limit: int = 200) -> list[Any]:
    """The learner's classified messages, newest first, that name a need of their own: not
    a tapped form option nor a typed answer to a form's question."""
    return list(
        conn.execute(
            sa.select(M.c.intent)
            .where(
                M.c.conversation_id == conversation_id,
                M.c.sender == "learner",
                M.c.intent.is_not(None),
                M.c.answers.is_(None),
                M.c.tapped == 0,
            )
            .order_by(M.c.id.desc())
            .limit(limit)
        ).scalars()
    )


def open_ticket_conversation(conn: Connection, learner_id: str) -> str | None:
    """The learner's latest conversation that still has an open ticket."""
    return conn.scalar(
        sa.select(C.c.id)
        .join(T, T.c.conversation_id == C.c.id)
        .where(C.c.learner_id == learner_id, T.c.status.in_(("queued", "claimed")))
        .order_by(T.c.created_at.desc(), T.c.id.desc())
        .limit(1)
    )


# ---- what the learner asked, for the agent console -------------------------------------------

# what a learner says that asks nothing: the KB has no answer for "human please" or "ok"
_NOT_A_QUESTION = {"request_human", "affirm", "deny", "greet", "thank", "goodbye"}


def _asks(row: Any) -> bool:
    """A learner message that asks something (not a request for a person, a yes or no, or
    a tapped button's payload)."""
    text = (row["text"] or "").strip()
    tapped = bool(json.loads(row["payload"] or "{}")) or text.startswith("/")
    return bool(text) and not tapped and row["intent"] not in _NOT_A_QUESTION


def _learner_rows(conn: Connection, conversation_id: str) -> sa.Select:
    return sa.select(M.c.text, M.c.payload, M.c.intent, M.c.created_at, M.c.id).where(
        M.c.conversation_id == conversation_id, M.c.sender == "learner"
    )


def learner_questions(conn: Connection, conversation_id: str, n: int = 5) -> list[str]:
    """The learner's latest messages that ask something, newest first."""
    rows = conn.execute(
        _learner_rows(conn, conversation_id).order_by(M.c.id.desc()).limit(20)
    ).mappings()
    return [(r["text"] or "").strip() for r in rows if _asks(r)][:n]


def question_at(conn: Connection, conversation_id: str, at: float) -> str:
    """The question a handoff at `at` is about, for a KB draft: the learner's last question
    before it (what the bot could not settle), else their first one after it. Not their
    latest line: while waiting for a person that is "hello? are you there?", which the NLU
    never reads (the chat is with a human), so nothing marks it as asking nothing."""
    rows = _learner_rows(conn, conversation_id)
    before = conn.execute(
        rows.where(M.c.created_at <= at).order_by(M.c.id.desc()).limit(20)
    ).mappings()
    after = conn.execute(rows.where(M.c.created_at > at).order_by(M.c.id).limit(20)).mappings()
    return next(((r["text"] or "").strip() for r in [*before, *after] if _asks(r)), "")


def complaints_elsewhere(conn: Connection, conversation_id: str) -> int:
    """How many complaint tickets the conversation's learner filed in their other
    conversations (a complaint raised again is more severe)."""
    learner = sa.select(C.c.learner_id).where(C.c.id == conversation_id).scalar_subquery()
    return int(
        conn.scalar(
            sa.select(sa.func.count())
            .select_from(T.join(C, C.c.id == T.c.conversation_id))
            .where(
                T.c.intent == "complaint",
                C.c.learner_id == learner,
                T.c.conversation_id != conversation_id,
            )
        )
        or 0
    )


# ---- personal data (bot/learner_records.py, bot/retention.py) ------------------------------


def export_conversations(conn: Connection, learner_id: str) -> list[dict[str, Any]]:
    """A learner's conversations, each with its whole transcript (their export)."""
    out = []
    mine = sa.select(C).where(C.c.learner_id == learner_id).order_by(C.c.created_at)
    for row in conn.execute(mine):
        conv = dict(row._mapping)
        conv["messages"] = [
            m.model_dump() for m in messages(conn, row.id, limit=1_000_000)
        ]
        out.append(conv)
    return out


def anonymise(
    conn: Connection, conversation_ids: list[str], learner_id: str, now: float | None = None
) -> int:
    """Strip conversations of their words: every message's text, payload (buttons may carry
    an email, citations a query) and client id go; who spoke, when, the intent and the
    language stay for the reports. The conversation then names `learner_id` (a pseudonym).
    The number of messages stripped."""
    now = time.time() if now is None else now
    stripped = 0
    for i in range(0, len(conversation_ids), 500):
        ids = conversation_ids[i : i + 500]
        stripped += conn.execute(
            sa.update(M)
            .where(M.c.conversation_id.in_(ids))
            .values(text="", payload=None, client_id=None)
        ).rowcount
        conn.execute(
            sa.update(C)
            .where(C.c.id.in_(ids))
            .values(learner_id=learner_id, asking=None, anonymised_at=now)
        )
    return stripped


def still_quiet(conn: Connection, ids: list[str], before: float) -> set[str]:
    """Of `ids`, the conversations still quiet since `before` and not yet anonymised: one a
    learner wrote to after `quiet_since` read it is no longer due."""
    last = sa.func.coalesce(C.c.last_message_at, C.c.created_at)
    stmt = sa.select(C.c.id).where(C.c.id.in_(ids), C.c.anonymised_at.is_(None), last < before)
    return set(conn.execute(stmt).scalars())


def quiet_since(
    conn: Connection, before: float, after: tuple[float, str] | None = None, limit: int = 500
) -> list[tuple[str, str, float]]:
    """Conversations not yet anonymised whose last message is older than `before`, as
    (conversation id, learner id, last message time), oldest first; `after` (the last
    one's time and id) pages on."""
    last = sa.func.coalesce(C.c.last_message_at, C.c.created_at)
    stmt = sa.select(C.c.id, C.c.learner_id, last.label("last")).where(
        C.c.anonymised_at.is_(None), last < before
    )
    if after is not None:
        stmt = stmt.where(sa.tuple_(last, C.c.id) > sa.tuple_(*after))
    rows = conn.execute(stmt.order_by(last, C.c.id).limit(limit))
    return [(r.id, r.learner_id, r.last) for r in rows]
