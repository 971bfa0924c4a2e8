"""Conversations and their transcript: every learner, bot, agent and system message."""

import json
import secrets
import time
from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, Field

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


def ensure_schema(db: sqlite_utils.Database) -> None:
    db["conversations"].create(
        {
            "id": str,
            "learner_id": str,
            "lang": str,
            "created_at": float,
            "last_message_at": float,
            # the form question the bot's last turn left open, "form/slot" (reading);
            # stored, not held in the hub's memory, so a restart does not forget it
            "asking": str,
        },
        transform=True,
        pk="id",
    )
    db["conversations"].create_index(["learner_id"], if_not_exists=True)
    db["messages"].create(
        {
            "id": int,
            "conversation_id": str,
            "sender": str,
            "text": str,
            "author": str,
            "lang": str,
            "intent": str,
            "confidence": float,
            "payload": str,
            "created_at": float,
            # the form slot a learner message answered (set by actions/form_guard.py): its
            # intent is then no need of the learner's ("北京某某科技有限公司", an invoice
            # title, read as a complaint), and the manager's reports skip it
            "answers": str,
        },
        transform=True,
        pk="id",
        foreign_keys=[("conversation_id", "conversations", "id")],
    )
    db["messages"].create_index(["conversation_id", "id"], if_not_exists=True)
    # the alert watcher's surge check counts the last hour's messages every few seconds
    db["messages"].create_index(["created_at"], if_not_exists=True)


def create_conversation(
    db: sqlite_utils.Database, learner_id: str, lang: str = "zh"
) -> Conversation:
    conv = Conversation(
        id="c_" + secrets.token_hex(8), learner_id=learner_id, lang=lang, created_at=time.time()
    )
    db["conversations"].insert(conv.model_dump())
    return conv


def conversation_ids(db: sqlite_utils.Database, learner_id: str) -> list[str]:
    """Every conversation of a learner (for what the bot should remember across chats)."""
    rows = db["conversations"].rows_where("learner_id = ?", [learner_id], select="id")
    return [r["id"] for r in rows]


def get_conversation(db: sqlite_utils.Database, conversation_id: str) -> Conversation | None:
    rows = list(db["conversations"].rows_where("id = ?", [conversation_id]))
    return Conversation(**rows[0]) if rows else None


def _message(row: dict) -> Message:
    return Message(**{**row, "payload": json.loads(row["payload"] or "{}")})


def add_message(
    db: sqlite_utils.Database,
    conversation_id: str,
    sender: Sender,
    text: str,
    *,
    author: str | None = None,
    lang: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Message:
    now = time.time()
    with db.conn:
        msg_id = (
            db["messages"]
            .insert(
                {
                    "conversation_id": conversation_id,
                    "sender": sender,
                    "text": text,
                    "author": author,
                    "lang": lang,
                    "payload": json.dumps(payload or {}, ensure_ascii=False),
                    "created_at": now,
                }
            )
            .last_pk
        )
        fields: dict[str, Any] = {"last_message_at": now}
        if sender == "learner" and lang:
            fields["lang"] = lang  # replies follow the learner's latest language
        db["conversations"].update(conversation_id, fields)
    return get_message(db, msg_id)


def set_lang(db: sqlite_utils.Database, conversation_id: str, lang: str) -> None:
    """The conversation's language when the bot decided otherwise than the hub's guess."""
    db["conversations"].update(conversation_id, {"lang": lang})


def set_asking(
    db: sqlite_utils.Database, conversation_id: str, asking: tuple[str, str] | None
) -> None:
    """Record the form question the bot left open (None: no form is asking)."""
    db["conversations"].update(conversation_id, {"asking": "/".join(asking) if asking else None})


def asking(db: sqlite_utils.Database, conversation_id: str) -> tuple[str, str] | None:
    """The form and slot the bot's last turn asked for, if a form is still asking."""
    rows = list(db.query("select asking from conversations where id = ?", [conversation_id]))
    form, _, slot = (rows[0]["asking"] or "").partition("/") if rows else ("", "", "")
    return (form, slot) if form and slot else None


def get_message(db: sqlite_utils.Database, message_id: int) -> Message:
    return _message(db["messages"].get(message_id))


def mark_answer(db: sqlite_utils.Database, message_id: int, slot: str) -> None:
    """Record that a learner message was taken as the answer to a form's `slot`."""
    db["messages"].update(message_id, {"answers": slot})


def annotate(
    db: sqlite_utils.Database, message_id: int, intent: str | None, confidence: float | None
) -> Message:
    db["messages"].update(message_id, {"intent": intent, "confidence": confidence})
    return get_message(db, message_id)


def messages(
    db: sqlite_utils.Database, conversation_id: str, after: int = 0, limit: int = 500
) -> list[Message]:
    rows = db["messages"].rows_where(
        "conversation_id = ? AND id > ?", [conversation_id, after], order_by="id", limit=limit
    )
    return [_message(r) for r in rows]


def offered_buttons(db: sqlite_utils.Database, conversation_id: str) -> list[dict[str, Any]]:
    """The buttons of the bot's latest message, if the learner has not written since."""
    for row in db["messages"].rows_where(
        "conversation_id = ? AND sender IN ('bot', 'learner')",
        [conversation_id],
        order_by="id desc",
        limit=5,
    ):
        if row["sender"] == "learner":
            return []
        buttons = _message(row).payload.get("buttons")
        if buttons:
            return list(buttons)
    return []


def recent_learner_text(db: sqlite_utils.Database, conversation_id: str, n: int = 3) -> list[str]:
    rows = db["messages"].rows_where(
        "conversation_id = ? AND sender = 'learner'", [conversation_id], order_by="id desc", limit=n
    )
    return [r["text"] for r in rows][::-1]


# what a learner says that asks nothing: the KB has no answer for "human please" or "ok"
_NOT_A_QUESTION = {"request_human", "affirm", "deny", "greet", "thank", "goodbye"}


def _asks(row: dict) -> bool:
    """A learner message that asks something (not a request for a person, a yes or no, or
    a tapped button's payload)."""
    text = (row["text"] or "").strip()
    tapped = bool(json.loads(row["payload"] or "{}")) or text.startswith("/")
    return bool(text) and not tapped and row.get("intent") not in _NOT_A_QUESTION


def learner_questions(db: sqlite_utils.Database, conversation_id: str, n: int = 5) -> list[str]:
    """The learner's latest messages that ask something, newest first."""
    rows = db["messages"].rows_where(
        "conversation_id = ? AND sender = 'learner'",
        [conversation_id],
        order_by="id desc",
        limit=20,
    )
    return [(r["text"] or "").strip() for r in rows if _asks(r)][:n]


def question_at(db: sqlite_utils.Database, conversation_id: str, at: float) -> str:
    """The question a handoff at `at` is about, for a KB draft: the learner's last question
    before it (what the bot could not settle), else their first one after it. Not their
    latest line: while waiting for a person that is "hello? are you there?", which the NLU
    never reads (the chat is with a human), so nothing marks it as asking nothing."""
    where = "conversation_id = ? AND sender = 'learner' AND created_at "
    args = [conversation_id, at]
    before = db["messages"].rows_where(where + "<= ?", args, order_by="id desc", limit=20)
    after = db["messages"].rows_where(where + "> ?", args, order_by="id", limit=20)
    return next(((r["text"] or "").strip() for r in [*before, *after] if _asks(r)), "")
