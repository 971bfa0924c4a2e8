"""The hub's router: every learner message is written to the transcript first, then goes to
Rasa (bot mode) or to the agent who owns the ticket (human mode).

A conversation is in human mode exactly while it has an open chat ticket, so "the bot stays
silent while a person owns the chat" is a property of this router, not of dialogue rules.
What the hub knows of a message beyond its words (a typed button, an answer to the open
question, a course's name alone) comes from `reading`, and goes to Rasa as metadata.
"""

import asyncio
import contextvars
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

import handoff
import reading
from bot import transcript
from bot.db import Database
from bot.outbox import Outbox, mode_of
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.transcript import Conversation, Message
from course_platform import CoursePlatform, Order
from kb_index import gaps
from kb_index.service import KnowledgeBase
from replies import kb_pick, t

log = logging.getLogger(__name__)

HUMAN_PAYLOAD = reading.HUMAN_PAYLOAD
# seconds this request's turn spent waiting for Rasa, so the route can tell the hub's own
# time apart (Server-Timing; bench/load.py reads it)
RASA_WAIT: contextvars.ContextVar[float] = contextvars.ContextVar("rasa_wait", default=0.0)


@dataclass
class Turn:
    """A learner message and what answered it (first the message, then the replies), and
    the conversation's mode after it."""

    messages: list[Message]
    mode: str


class Router:
    """Every step that touches the database is its own short unit of work, run off the event
    loop (`Database.awrite`/`aread`); none is held while Rasa thinks."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        rasa: RasaClient,
        hours: handoff.BusinessHours,
        platform: CoursePlatform | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
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
        self,
        learner_id: str,
        conversation_id: str,
        text: str,
        payload: str | None = None,
        client_id: str | None = None,
    ) -> Turn | None:
        """Record a learner message, then route it. Returns the message and any replies, and
        the conversation's mode after the turn; None if the learner has no such conversation.

        With `client_id`, a message sent before (a resend after a lost response) is not
        stored or routed again: the stored message and what answered it so far come back.
        Each step is one short unit of work: reading what the message needs (one), storing
        it and seeing who answers it (one, or two while an earlier turn of the conversation
        still runs), and storing the answer (one)."""
        found = await self.db.aread(_prepare, learner_id, conversation_id, client_id)
        if found is None:
            return None
        conv, again, buttons, asking = found
        if again:
            return again
        read = reading.read(
            text,
            conv_lang=conv.lang,
            payload=payload,
            buttons=buttons,
            asking=asking,
            orders=lambda: self._orders(conv),
        )
        lock = self._locks.get(conv.id)
        if lock is None:
            lock = self._locks[conv.id] = asyncio.Lock()
        try:
            if lock.locked():  # an earlier turn runs: store the message now, route it after
                msg = await self.db.awrite(self._store, conv.id, text, read, client_id)
                async with lock:
                    human, asking = await self.db.awrite(self._to_person_or_bot, msg)
                    return await self._route(conv, msg, human, asking, read)
            async with lock:
                stored = await self.db.awrite(self._store_and_route, conv.id, text, read, client_id)
                return await self._route(conv, *stored, read=read)
        except IntegrityError:  # the same resend raced in twice: the other one stored it
            if client_id and (again := await self.db.aread(_resent, conv.id, client_id)):
                return again
            raise

    def _store(
        self,
        conn: Connection,
        conversation_id: str,
        text: str,
        read: reading.Reading,
        client_id: str | None,
    ) -> Message:
        """The learner's message, first of all. A client id stored already (the same resend
        raced in twice) fails the unit of work: the caller reads the message stored."""
        return self.outbox.post(
            conn,
            conversation_id,
            "learner",
            text,
            lang=read.lang,
            payload={"payload": read.payload} if read.payload else None,
            client_id=client_id,
        )

    def _to_person(self, conn: Connection, msg: Message) -> bool:
        """In human mode the agent who has the chat sees the message: the hub is done with
        it. Else it is the bot's turn."""
        if handoff.human_mode(conn, msg.conversation_id):
            transcript.mark_handled(conn, msg.id)
            self.outbox.tell_queue(
                conn, {"type": "learner_message", "conversation_id": msg.conversation_id}
            )
            return True
        return False

    def _to_person_or_bot(
        self, conn: Connection, msg: Message
    ) -> tuple[bool, tuple[str, str] | None]:
        """As `_to_person`, after an earlier turn: with the form question it left open."""
        if self._to_person(conn, msg):
            return True, None
        return False, transcript.asking(conn, msg.conversation_id)

    def _store_and_route(
        self,
        conn: Connection,
        conversation_id: str,
        text: str,
        read: reading.Reading,
        client_id: str | None,
    ) -> tuple[Message, bool, tuple[str, str] | None]:
        """Store the message and see who answers it, in one unit of work. The open question
        is read again here: a turn that ended since the message was read (in this process or
        another) may have changed it."""
        msg = self._store(conn, conversation_id, text, read, client_id)
        return (msg, *self._to_person_or_bot(conn, msg))

    async def _route(
        self,
        conv: Conversation,
        msg: Message,
        human: bool,
        asking: tuple[str, str] | None,
        read: reading.Reading,
    ) -> Turn:
        if human:
            return Turn([msg], "human")
        read.asking = asking  # the question the previous turn left open, now it is done
        return await self._bot_turn(conv, msg, read)

    async def _bot_turn(self, conv: Conversation, msg: Message, read: reading.Reading) -> Turn:
        """One Rasa turn; returns the (now annotated) learner message and the replies.

        Rasa down or failing: the message was not handled; the learner is asked to resend it
        or offered a person. Rasa slower than its timeout: it still has the message and will
        act on it, so the learner is told the answer is coming (or offered a person) and a
        task waits for the answer and posts it late (`_late_turn`). While such a turn is
        pending, a request for a person is served by the hub at once instead of queueing
        behind it in Rasa."""
        lang = read.lang
        if conv.id in self._pending and read.wants_person:
            return await self._rasa_trouble(conv, msg, read)
        # the reading may ask the course platform for the learner's orders: off the loop
        hints = (
            await anyio.to_thread.run_sync(read.metadata) if read.needs_orders else read.metadata()
        )
        metadata = {
            "learner_id": conv.learner_id,
            "conversation_id": conv.id,
            "message_id": msg.id,  # the transcript's, so actions can annotate this message
            **hints,
        }
        turn = asyncio.ensure_future(
            self.rasa.turn(conv.id, read.routed_text, metadata, wait_s=self.rasa.late_s)
        )
        waited = time.perf_counter()
        try:
            raw = await asyncio.wait_for(asyncio.shield(turn), self.rasa.timeout_s)
        except TimeoutError:
            RASA_WAIT.set(RASA_WAIT.get() + time.perf_counter() - waited)
            log.warning("Rasa slow for %s: answer will be posted late", conv.id)
            self._pending[conv.id] = turn
            task = asyncio.create_task(self._late_turn(conv, msg, lang, turn))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return await self._rasa_trouble(conv, msg, read, slow=True)
        except RasaUnavailable as e:
            RASA_WAIT.set(RASA_WAIT.get() + time.perf_counter() - waited)
            log.warning("Rasa unavailable for %s: %s", conv.id, e)
            return await self._rasa_trouble(conv, msg, read)
        RASA_WAIT.set(RASA_WAIT.get() + time.perf_counter() - waited)
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
    ) -> Turn:
        """Store Rasa's answer to `msg`, in one unit of work: the intent on the message, the
        replies, the queue notice if the turn handed the chat to a person, and the message
        marked handled. A crash before it commits leaves the message unhandled (recovery)."""
        state: dict[str, Any] = {}
        # a late answer's parse is this message's only if nothing was said since
        if not late or await self.db.aread(transcript.recent_learner_text, conv.id, 1) == [
            msg.text
        ]:
            waited = time.perf_counter()
            state = {"read": True, **await self.rasa.after_turn(conv.id)}
            RASA_WAIT.set(RASA_WAIT.get() + time.perf_counter() - waited)
        return await self.db.awrite(self._store_answer, conv, msg, raw, lang, state)

    def _store_answer(
        self,
        conn: Connection,
        conv: Conversation,
        msg: Message,
        raw: list[dict],
        lang: str,
        state: dict[str, Any],
    ) -> Turn:
        conversation: dict[str, Any] = {}
        if state.get("read"):
            # an unreadable tracker forgets the question: better read as the NLU reads it
            # than taken as the answer to a question no longer asked
            conversation["asking"] = state.get("asking")
            parse = state.get("parse")
            if parse and parse.get("intent"):
                msg = transcript.annotate(
                    conn, msg.id, parse["intent"].get("name"), parse["intent"].get("confidence")
                )
            # The bot's language wins over the hub's reading of this one message: the hub's
            # own notices (queue, agent joined) must not switch it either.
            if state.get("lang") in ("zh", "en") and state["lang"] != lang:
                lang = conversation["lang"] = state["lang"]
        transcript.update_conversation(conn, conv.id, **conversation)
        out = self.outbox.post_replies(
            conn, conv.id, merge_replies(raw), lang=lang, reply_to=msg.id
        )
        ticket = handoff.human_mode(conn, conv.id)
        if ticket:
            out.append(self._queued_notice(conn, conv.id, ticket, lang, reply_to=msg.id))
        elif not out:
            # Rasa said nothing: an action failed (its server restarting, an action bug) and
            # Rasa went back to listening. Silence is no answer: the learner is told.
            log.warning("Rasa gave no answer to %s in %s", msg.id, conv.id)
            out.append(self._trouble_notice(conn, conv, msg, lang, "rasa_lost", text=msg.text[:60]))
        transcript.mark_handled(conn, msg.id)
        return Turn([msg, *out], "human" if ticket else "bot")

    async def _late_turn(
        self, conv: Conversation, msg: Message, lang: str, turn: asyncio.Future
    ) -> None:
        """Post the answer of a turn that outran the timeout, when it comes. If a person took
        the chat in the meantime, the bot stays silent; if this very turn handed it over
        (the last "still not working" of a guide, a "转人工"), its handover and the queue
        notice are posted like any turn's. If it never comes, the learner is told to resend
        the message."""
        try:
            try:
                raw = await turn
            except RasaUnavailable as e:
                log.warning("Rasa never answered %s in %s: %s", msg.id, conv.id, e)
                await self.db.awrite(self._lost, conv, msg, lang)
                return
            if await self.db.aread(_taken_over, conv.id, msg.id):
                log.info("late Rasa answer to %s dropped: a person has the chat", msg.id)
                return
            await self._deliver(conv, msg, raw, lang, late=True)
        except Exception:  # a background task: log, never crash the loop
            log.exception("late Rasa answer to %s in %s", msg.id, conv.id)
        finally:
            if self._pending.get(conv.id) is turn:
                del self._pending[conv.id]

    def _lost(self, conn: Connection, conv: Conversation, msg: Message, lang: str) -> None:
        if not handoff.human_mode(conn, conv.id):
            self._trouble_notice(conn, conv, msg, lang, "rasa_lost", text=msg.text[:60])

    # ---- answers without Rasa ---------------------------------------------------------
    async def _rasa_trouble(
        self, conv: Conversation, msg: Message, read: reading.Reading, slow: bool = False
    ) -> Turn:
        return await self.db.awrite(self._answer_without_rasa, conv, msg, read, slow)

    def _answer_without_rasa(
        self,
        conn: Connection,
        conv: Conversation,
        msg: Message,
        read: reading.Reading,
        slow: bool,
    ) -> Turn:
        """The hub answers without Rasa: a request for a person opens a ticket for the team
        of the conversation's topic (from the intents stored on its messages), with the same
        off-hours notice the bot gives; anything else gets an honest notice and the button.
        Either way the learner was told something: the message is handled."""
        transcript.mark_handled(conn, msg.id)
        if read.wants_person:
            ticket = handoff.create_ticket(
                conn,
                conv.id,
                reason="assistant_unavailable",
                intent=self.topic_of(conn, conv.id),
                summary=" / ".join(x for x in transcript.recent_learner_text(conn, conv.id) if x)[
                    :400
                ],
                hours=self.hours,
            )
            notice = self._queued_notice(
                conn, conv.id, ticket, read.lang, after_hours=True, reply_to=msg.id
            )
            return Turn([msg, notice], "human")
        kind = "rasa_slow" if slow else "rasa_down"
        return Turn([msg, self._trouble_notice(conn, conv, msg, read.lang, kind)], "bot")

    def _trouble_notice(
        self,
        conn: Connection,
        conv: Conversation,
        msg: Message,
        lang: str,
        key: str,
        **values: str,
    ) -> Message:
        button = {"title": t("human_button", lang), "payload": HUMAN_PAYLOAD}
        return self.outbox.post(
            conn,
            conv.id,
            "system",
            t(key, lang, **values),
            lang=lang,
            payload={"event": "rasa_down", "kind": key, "buttons": [button]},
            reply_to=msg.id,
        )

    @staticmethod
    def topic_of(conn: Connection, conversation_id: str) -> str | None:
        """What the conversation is about, for a ticket the hub files itself: the latest
        learner message whose stored intent names a team's topic, leaving out tapped options
        and answers to a form's question (an order button is no topic of its own)."""
        return next(
            (i for i in transcript.topic_rows(conn, conversation_id) if handoff.names_a_team(i)),
            None,
        )

    def _queued_notice(
        self,
        conn: Connection,
        conversation_id: str,
        ticket: handoff.Ticket,
        lang: str,
        after_hours: bool = False,
        reply_to: int | None = None,
    ) -> Message:
        """`after_hours`: also say when people work, if they do not now (the bot's handoff
        message says it itself; a ticket the hub files must say it too)."""
        text = t("queued", lang, team=handoff.team_name(ticket.team, lang), ticket=ticket.id)
        if after_hours and not self.hours.is_open_ts(time.time()):
            hours = {"opens": f"{self.hours.opens:%H:%M}", "closes": f"{self.hours.closes:%H:%M}"}
            text += "\n\n" + t("handoff_after_hours", lang, **hours)
        msg = self.outbox.post(
            conn,
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
            reply_to=reply_to,
        )
        self.outbox.announce_mode(conn, conversation_id)
        return msg

    # ---- "not helpful" -------------------------------------------------------------------
    def offer_alternatives(
        self, conn: Connection, conv: Conversation, answer_id: int, entry_id: str, kb: KnowledgeBase
    ) -> Message:
        """After "not helpful": the next-best entries for the same question, then a person.
        Called from a request's worker thread (the search encodes the question)."""
        asked = [
            m
            for m in transcript.messages(conn, conv.id, limit=5000)
            if m.sender == "learner" and m.id < answer_id
        ]
        question = asked[-1].text if asked else ""
        lang = conv.lang
        hits = [h for h in kb.search(question, k=6, lang=lang) if h.entry.id != entry_id]
        gaps.log_gap(
            conn,
            conversation_id=conv.id,
            query=question,
            lang=lang,
            kind="not_helpful",
            hits=[h.brief() for h in hits[:3]],
        )
        buttons = [{"title": h.entry.question, "payload": kb_pick(h.entry.id)} for h in hits[:3]]
        buttons.append({"title": t("human_button", lang), "payload": HUMAN_PAYLOAD})
        return self.outbox.post(
            conn,
            conv.id,
            "bot",
            t("next_best", lang),
            lang=lang,
            payload={"buttons": buttons, "event": "next_best"},
        )


def _prepare(
    conn: Connection, learner_id: str, conversation_id: str, client_id: str | None
) -> tuple[Conversation, Turn | None, list[dict], tuple[str, str] | None] | None:
    """What a new learner message needs, in one read: the learner's conversation (None if
    it is not theirs), the turn already stored under this client id (a resend), and for
    reading the message the buttons just offered and the open question."""
    conv, asking = transcript.conversation_and_question(conn, conversation_id)
    if conv is None or conv.learner_id != learner_id:
        return None
    again = _resent(conn, conversation_id, client_id) if client_id else None
    return conv, again, transcript.offered_buttons(conn, conversation_id), asking


def _taken_over(conn: Connection, conversation_id: str, message_id: int) -> bool:
    """Whether a person has the chat by other means than the turn answering `message_id`:
    the chat is in human mode and, since that message, the learner has been told so by
    someone else (the hub's own queue notice, after a "talk to a person" while the turn was
    pending; an agent joining or writing). A chat ticket nobody has announced yet is the
    turn's own handover, which its late answer announces (`_store_answer`)."""
    if not handoff.human_mode(conn, conversation_id):
        return False
    return any(
        m.sender == "agent"
        or (m.sender == "system" and m.payload.get("event") in ("handoff", "claimed"))
        for m in transcript.messages(conn, conversation_id, after=message_id)
    )


def _resent(conn: Connection, conversation_id: str, client_id: str | None) -> Turn | None:
    """A message sent before under this client id, and what answered it so far."""
    msg = transcript.by_client_id(conn, conversation_id, client_id) if client_id else None
    if msg is None:
        return None
    return Turn([msg, *transcript.replies_to(conn, msg)], mode_of(conn, conversation_id))


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
