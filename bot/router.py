"""The hub's router: every learner message is written to the transcript first, then goes to
Rasa (bot mode) or to the agent who owns the ticket (human mode).

A conversation is in human mode exactly while it has an open chat ticket, so "the bot stays
silent while a person owns the chat" is a property of this router, not of dialogue rules.
What the hub knows of a message beyond its words (a typed button, an answer to the open
question, a course's name alone) comes from `reading`, and goes to Rasa as metadata.
"""

import asyncio
import json
import logging
import time
import weakref
from typing import Any

import sqlite_utils

import handoff
import reading
from bot import transcript
from bot.outbox import Outbox
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.transcript import Conversation, Message
from course_platform import CoursePlatform, Order
from kb_index import gaps
from kb_index.service import KnowledgeBase
from replies import kb_pick, t

log = logging.getLogger(__name__)

HUMAN_PAYLOAD = reading.HUMAN_PAYLOAD


class Router:
    def __init__(
        self,
        outbox: Outbox,
        rasa: RasaClient,
        hours: handoff.BusinessHours,
        platform: CoursePlatform | None = None,
    ) -> None:
        self.outbox = outbox
        self.db: sqlite_utils.Database = outbox.db
        self.rasa = rasa
        self.hours = hours
        self.platform = platform  # the learners' orders, for a course named on its own
        # one Rasa turn at a time per conversation; entries vanish when no turn holds them
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # turns Rasa has not answered within its timeout, by conversation, and the tasks that
        # still wait for their answers (see _bot_turn)
        self._pending: dict[str, asyncio.Future] = {}
        self._late: set[asyncio.Task] = set()

    async def aclose(self) -> None:
        """Stop waiting for late Rasa answers (the hub is shutting down)."""
        for task in [*self._late, *self._pending.values()]:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)

    # ---- a learner message ---------------------------------------------------------
    async def learner_says(
        self, conv: Conversation, text: str, payload: str | None = None
    ) -> list[Message]:
        """Record a learner message, then route it. Returns the message and any replies."""
        read = reading.read(
            text,
            conv_lang=conv.lang,
            payload=payload,
            buttons=transcript.offered_buttons(self.db, conv.id),
            asking=transcript.asking(self.db, conv.id),
            orders=lambda: self._orders(conv),
        )
        msg = self.outbox.post(
            conv.id,
            "learner",
            text,
            lang=read.lang,
            payload={"payload": read.payload} if read.payload else None,
        )
        lock = self._locks.get(conv.id)
        if lock is None:
            lock = self._locks[conv.id] = asyncio.Lock()
        async with lock:
            if handoff.human_mode(self.db, conv.id):
                self.outbox.broadcaster.publish(
                    "queue", {"type": "learner_message", "conversation_id": conv.id}
                )
                return [msg]
            # the question the previous turn left open, now that it has finished
            read.asking = transcript.asking(self.db, conv.id)
            return await self._bot_turn(conv, msg, read)

    async def _bot_turn(
        self, conv: Conversation, msg: Message, read: reading.Reading
    ) -> list[Message]:
        """One Rasa turn; returns the (now annotated) learner message and the replies.

        Rasa down or failing: the message was not handled; the learner is asked to resend it
        or offered a person. Rasa slower than its timeout: it still has the message and will
        act on it, so the learner is told the answer is coming (or offered a person) and a
        task waits for the answer and posts it late (`_late_turn`). While such a turn is
        pending, a request for a person is served by the hub at once instead of queueing
        behind it in Rasa."""
        lang = read.lang
        if conv.id in self._pending and read.wants_person:
            return [msg, *self._rasa_trouble(conv, read)]
        metadata = {
            "learner_id": conv.learner_id,
            "conversation_id": conv.id,
            "message_id": msg.id,  # the transcript's, so actions can annotate this message
            **read.metadata(),
        }
        turn = asyncio.ensure_future(
            self.rasa.turn(conv.id, read.routed_text, metadata, wait_s=self.rasa.late_s)
        )
        try:
            raw = await asyncio.wait_for(asyncio.shield(turn), self.rasa.timeout_s)
        except TimeoutError:
            log.warning("Rasa slow for %s: answer will be posted late", conv.id)
            self._pending[conv.id] = turn
            task = asyncio.create_task(self._late_turn(conv, msg, lang, turn))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return [msg, *self._rasa_trouble(conv, read, slow=True)]
        except RasaUnavailable as e:
            log.warning("Rasa unavailable for %s: %s", conv.id, e)
            return [msg, *self._rasa_trouble(conv, read)]
        return await self._deliver(conv, msg, raw, lang)

    def _orders(self, conv: Conversation) -> list[Order]:
        """The learner's orders, to tell a course named on its own (none on trouble)."""
        if self.platform is None:
            return []
        try:
            return self.platform.orders(conv.learner_id)
        except Exception:  # the platform's trouble must not stop the turn
            log.exception("orders of %s unavailable", conv.learner_id)
            return []

    async def _deliver(
        self, conv: Conversation, msg: Message, raw: list[dict], lang: str, late: bool = False
    ) -> list[Message]:
        """Store Rasa's answer to `msg`: the intent on the message, the replies, and the
        queue notice if the turn handed the chat to a person."""
        # a late answer's parse is this message's only if nothing was said since
        if not late or transcript.recent_learner_text(self.db, conv.id, 1) == [msg.text]:
            state = await self.rasa.after_turn(conv.id)
            # an unreadable tracker forgets the question: better read as the NLU reads it
            # than taken as the answer to a question no longer asked
            transcript.set_asking(self.db, conv.id, state.get("asking"))
            parse = state.get("parse")
            if parse and parse.get("intent"):
                msg = transcript.annotate(
                    self.db,
                    msg.id,
                    parse["intent"].get("name"),
                    parse["intent"].get("confidence"),
                )
            # The bot's language wins over the hub's reading of this one message: the hub's
            # own notices (queue, agent joined) must not switch it either.
            if state.get("lang") in ("zh", "en") and state["lang"] != lang:
                lang = state["lang"]
                transcript.set_lang(self.db, conv.id, lang)
        out = [
            self.outbox.post(conv.id, "bot", r["text"], lang=lang, payload=r["payload"])
            for r in merge_replies(raw)
        ]
        ticket = handoff.human_mode(self.db, conv.id)
        if ticket:
            out.append(self._queued_notice(conv.id, ticket, lang))
        return [msg, *out]

    async def _late_turn(
        self, conv: Conversation, msg: Message, lang: str, turn: asyncio.Future
    ) -> None:
        """Post the answer of a turn that outran the timeout, when it comes. If a person has
        the chat by then, the bot stays silent; if it never comes, the learner is told to
        resend the message."""
        try:
            try:
                raw = await turn
            except RasaUnavailable as e:
                log.warning("Rasa never answered %s in %s: %s", msg.id, conv.id, e)
                if not handoff.human_mode(self.db, conv.id):
                    self._trouble_notice(conv, lang, "rasa_lost", text=msg.text[:60])
                return
            if handoff.human_mode(self.db, conv.id):
                log.info("late Rasa answer to %s dropped: a person has the chat", msg.id)
                return
            await self._deliver(conv, msg, raw, lang, late=True)
        except Exception:  # a background task: log, never crash the loop
            log.exception("late Rasa answer to %s in %s", msg.id, conv.id)
        finally:
            if self._pending.get(conv.id) is turn:
                del self._pending[conv.id]

    # ---- answers without Rasa ---------------------------------------------------------
    def _rasa_trouble(
        self, conv: Conversation, read: reading.Reading, slow: bool = False
    ) -> list[Message]:
        """The hub answers without Rasa: a request for a person opens a ticket for the team
        of the conversation's topic (from the intents stored on its messages), with the same
        off-hours notice the bot gives; anything else gets an honest notice and the button."""
        if read.wants_person:
            ticket = handoff.create_ticket(
                self.db,
                conv.id,
                reason="assistant_unavailable",
                intent=self.topic_of(conv.id),
                summary=" / ".join(
                    x for x in transcript.recent_learner_text(self.db, conv.id) if x
                )[:400],
                hours=self.hours,
            )
            return [self._queued_notice(conv.id, ticket, read.lang, after_hours=True)]
        return [self._trouble_notice(conv, read.lang, "rasa_slow" if slow else "rasa_down")]

    def _trouble_notice(self, conv: Conversation, lang: str, key: str, **values: str) -> Message:
        button = {"title": t("human_button", lang), "payload": HUMAN_PAYLOAD}
        return self.outbox.post(
            conv.id,
            "system",
            t(key, lang, **values),
            lang=lang,
            payload={"event": "rasa_down", "kind": key, "buttons": [button]},
        )

    def topic_of(self, conversation_id: str) -> str | None:
        """What the conversation is about, for a ticket the hub files itself: the latest
        learner message whose stored intent names a team's topic, leaving out tapped options
        and answers to a form's question (an order button is no topic of its own)."""
        rows = self.db["messages"].rows_where(
            "conversation_id = ? AND sender = 'learner' AND intent IS NOT NULL AND answers IS NULL",
            [conversation_id],
            order_by="id desc",
            limit=200,
        )
        for row in rows:
            tapped = (json.loads(row["payload"] or "{}") or {}).get("payload") or ""
            if tapped and not tapped.startswith("/"):
                continue
            if handoff.names_a_team(row["intent"]):
                return row["intent"]
        return None

    def _queued_notice(
        self, conversation_id: str, ticket: handoff.Ticket, lang: str, after_hours: bool = False
    ) -> Message:
        """`after_hours`: also say when people work, if they do not now (the bot's handoff
        message says it itself; a ticket the hub files must say it too)."""
        text = t("queued", lang, team=handoff.team_name(ticket.team, lang), ticket=ticket.id)
        if after_hours and not self.hours.is_open_ts(time.time()):
            hours = {"opens": f"{self.hours.opens:%H:%M}", "closes": f"{self.hours.closes:%H:%M}"}
            text += "\n\n" + t("handoff_after_hours", lang, **hours)
        msg = self.outbox.post(
            conversation_id,
            "system",
            text,
            lang=lang,
            payload={
                "event": "handoff",
                "ticket_id": ticket.id,
                "team": ticket.team,
                "priority": ticket.priority,
            },
        )
        self.outbox.announce_mode(conversation_id)
        return msg

    def offer_alternatives(
        self, conv: Conversation, answer_id: int, entry_id: str, kb: KnowledgeBase
    ) -> Message:
        """After "not helpful": the next-best entries for the same question, then a person."""
        asked = [
            m
            for m in transcript.messages(self.db, conv.id, limit=5000)
            if m.sender == "learner" and m.id < answer_id
        ]
        question = asked[-1].text if asked else ""
        lang = conv.lang
        hits = [h for h in kb.search(question, k=6, lang=lang) if h.entry.id != entry_id]
        gaps.log_gap(
            self.db,
            conversation_id=conv.id,
            query=question,
            lang=lang,
            kind="not_helpful",
            hits=[h.brief() for h in hits[:3]],
        )
        buttons = [{"title": h.entry.question, "payload": kb_pick(h.entry.id)} for h in hits[:3]]
        buttons.append({"title": t("human_button", lang), "payload": HUMAN_PAYLOAD})
        return self.outbox.post(
            conv.id,
            "bot",
            t("next_best", lang),
            lang=lang,
            payload={"buttons": buttons, "event": "next_best"},
        )


def merge_replies(raw: list[dict]) -> list[dict]:
    """Turn Rasa's REST output into transcript messages.

    Rasa splits a text on blank lines and sends `custom` apart from its text. Actions that
    need one message with Markdown paragraphs (KB answers) therefore send a custom payload
    carrying its own "text"; a bare custom payload joins the message before it.
    """
    out: list[dict] = []
    for r in raw:
        custom = r.get("custom")
        if isinstance(custom, dict) and "text" in custom:
            body = dict(custom)
            out.append({"text": str(body.pop("text")), "payload": body})
            continue
        if custom is not None and not r.get("text") and out:
            out[-1]["payload"].update(custom if isinstance(custom, dict) else {"custom": custom})
            continue
        payload: dict[str, Any] = {}
        if r.get("buttons"):
            payload["buttons"] = r["buttons"]
        if r.get("image"):
            payload["image"] = r["image"]
        if isinstance(custom, dict):
            payload.update(custom)
        if r.get("text") or payload:
            out.append({"text": r.get("text") or "", "payload": payload})
    return out
