"""The hub's router: every message is written to the transcript first, then goes to Rasa
(bot mode) or to the agent who owns the ticket (human mode).

A conversation is in human mode exactly while it has an open chat ticket, so "the bot stays
silent while a person owns the chat" is a property of this router, not of dialogue rules.
"""

import asyncio
import json
import logging
import re
import time
import weakref
from typing import Any

import sqlite_utils

import handoff
from actions.course_match import named_orders, only_a_course
from actions.kb import pick_payload
from actions.messages import t
from bot import answers, transcript
from bot.broadcast import Broadcaster
from bot.copy import say
from bot.platform import CoursePlatform, Order
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.transcript import Conversation, Message
from kb_index import gaps
from kb_index.lang import detect_lang
from kb_index.service import KnowledgeBase

log = logging.getLogger(__name__)

HUMAN_PAYLOAD = "/request_human"
_COURSE_NAME_CHARS = 40  # longer than any course title we have seen, in either language
# A request for a person the hub serves itself (Rasa down or slow) and never reads as a
# form's answer. "personal" (an invoice's type) is not a person
_ASKS_FOR_HUMAN = re.compile(r"人工|真人|客服|human|agent|person(?!al)|representative", re.I)


def mode_of(db: sqlite_utils.Database, conversation_id: str) -> str:
    return "human" if handoff.human_mode(db, conversation_id) else "bot"


class Hub:
    def __init__(
        self,
        db: sqlite_utils.Database,
        rasa: RasaClient,
        broadcaster: Broadcaster,
        hours: handoff.BusinessHours,
        platform: CoursePlatform | None = None,
    ) -> None:
        self.db = db
        self.platform = platform  # the learners' orders, for a course named on its own
        self.rasa = rasa
        self.broadcaster = broadcaster
        self.hours = hours
        # one Rasa turn at a time per conversation; entries vanish when no turn holds them
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # turns Rasa has not answered within its timeout, by conversation, and the tasks that
        # still wait for their answers (see _bot_turn)
        self._pending: dict[str, asyncio.Future] = {}
        self._late: set[asyncio.Task] = set()
        # the learner's open chat pages (WebSockets) per conversation, for the agent console
        self._learner_pages: dict[str, int] = {}

    async def aclose(self) -> None:
        """Stop waiting for late Rasa answers (the hub is shutting down)."""
        for task in [*self._late, *self._pending.values()]:
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)

    # ---- writing ------------------------------------------------------------------
    def post(
        self, conversation_id: str, sender: transcript.Sender, text: str, **fields: Any
    ) -> Message:
        msg = transcript.add_message(self.db, conversation_id, sender, text, **fields)
        self.broadcaster.publish(
            f"conv:{conversation_id}", {"type": "message", "message": msg.model_dump()}
        )
        return msg

    def announce_mode(self, conversation_id: str) -> None:
        mode = mode_of(self.db, conversation_id)
        self.broadcaster.publish(f"conv:{conversation_id}", {"type": "mode", "mode": mode})
        self.broadcaster.publish("queue", {"type": "queue", "conversation_id": conversation_id})

    # ---- presence -----------------------------------------------------------------
    def learner_online(self, conversation_id: str) -> bool:
        """Whether the learner has the chat open (a page holds its WebSocket)."""
        return self._learner_pages.get(conversation_id, 0) > 0

    def learner_page(self, conversation_id: str, opened: bool) -> None:
        """A learner's chat page connected or went away; the agent console hears when the
        learner's first page opens or the last one closes."""
        before = self.learner_online(conversation_id)
        n = self._learner_pages.get(conversation_id, 0) + (1 if opened else -1)
        if n > 0:
            self._learner_pages[conversation_id] = n
        else:
            self._learner_pages.pop(conversation_id, None)
        if self.learner_online(conversation_id) != before:
            self.broadcaster.publish(
                f"conv:{conversation_id}",
                {"type": "presence", "learner_online": self.learner_online(conversation_id)},
            )

    # ---- the learner side ---------------------------------------------------------
    async def learner_says(
        self, conv: Conversation, text: str, payload: str | None = None
    ) -> list[Message]:
        """Record a learner message, then route it. Returns the message and any replies."""
        lang = detect_lang(text, default=conv.lang)
        if payload is None:  # a button's title typed out is that button
            button = answers.typed_option(transcript.offered_buttons(self.db, conv.id), text)
            payload = str(button["payload"]) if button and button.get("payload") else None
        msg = self.post(
            conv.id, "learner", text, lang=lang, payload={"payload": payload} if payload else None
        )
        lock = self._locks.get(conv.id)
        if lock is None:
            lock = self._locks[conv.id] = asyncio.Lock()
        async with lock:
            if handoff.human_mode(self.db, conv.id):
                self.broadcaster.publish(
                    "queue", {"type": "learner_message", "conversation_id": conv.id}
                )
                return [msg]
            # a tapped option (a plain value, not an "/intent" payload) is an answer to the
            # form's question; rasa_addons/option_guard.py keeps it from reading as an escape
            option = bool(payload) and not payload.startswith("/")
            return await self._bot_turn(conv, msg, payload or text, lang, option=option)

    async def _bot_turn(
        self, conv: Conversation, msg: Message, text: str, lang: str, option: bool = False
    ) -> list[Message]:
        """One Rasa turn; returns the (now annotated) learner message and the replies.

        Rasa down or failing: the message was not handled; the learner is asked to resend it
        or offered a person. Rasa slower than its timeout: it still has the message and will
        act on it, so the learner is told the answer is coming (or offered a person) and a
        task waits for the answer and posts it late (`_late_turn`). While such a turn is
        pending, a request for a person is served by the hub at once instead of queueing
        behind it in Rasa."""
        if conv.id in self._pending and _wants_human(text):
            return [msg, *self._rasa_trouble(conv, text, lang)]
        metadata = {
            "learner_id": conv.learner_id,
            "lang": lang,
            "conversation_id": conv.id,
            "message_id": msg.id,  # the transcript's, so actions can annotate this message
            "option": option,
        }
        if not option and not _wants_human(text):
            metadata.update(self._reading_hints(conv, text))
        turn = asyncio.ensure_future(
            self.rasa.turn(conv.id, text, metadata, wait_s=self.rasa.late_s)
        )
        try:
            raw = await asyncio.wait_for(asyncio.shield(turn), self.rasa.timeout_s)
        except TimeoutError:
            log.warning("Rasa slow for %s: answer will be posted late", conv.id)
            self._pending[conv.id] = turn
            task = asyncio.create_task(self._late_turn(conv, msg, lang, turn))
            self._late.add(task)
            task.add_done_callback(self._late.discard)
            return [msg, *self._rasa_trouble(conv, text, lang, slow=True)]
        except RasaUnavailable as e:
            log.warning("Rasa unavailable for %s: %s", conv.id, e)
            return [msg, *self._rasa_trouble(conv, text, lang)]
        return await self._deliver(conv, msg, raw, lang)

    def _reading_hints(self, conv: Conversation, text: str) -> dict[str, str]:
        """What the hub knows of a typed message that the NLU does not, for
        rasa_addons/option_guard.py: `answer_intent`, the flow's intent when the text answers
        the form question left open (bot/answers.py), or `read_as: ask_question` when it is
        nothing but one of the learner's course names and no form asks anything ("数据分析"
        alone read as a privacy request; the KB action shows that course's order)."""
        asking = transcript.asking(self.db, conv.id)
        # the platform is asked only when the answer may change the reading: a course's name
        # on its own is short, and most messages outside a form are not
        alone = asking is None and len(text.strip()) <= _COURSE_NAME_CHARS
        orders = self._orders(conv) if alone or asking in answers.ORDER_QUESTIONS else []
        named = bool(named_orders(orders, text))
        answer = answers.answer_intent(asking, text, names_an_order=named)
        if answer:
            return {"answer_intent": answer}
        if asking is None and named and only_a_course(orders, text):
            return {"read_as": "ask_question"}
        return {}

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
            # The bot's language wins over the hub's guess from this one message: a form
            # value ("Acme Tech Ltd" in a Chinese chat) reads as English to detect_lang but
            # is no switch, and the hub's own notices (queue, agent joined) must not switch.
            if state.get("lang") in ("zh", "en") and state["lang"] != lang:
                lang = state["lang"]
                transcript.set_lang(self.db, conv.id, lang)
        out = [
            self.post(conv.id, "bot", r["text"], lang=lang, payload=r["payload"])
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

    def _rasa_trouble(
        self, conv: Conversation, text: str, lang: str, slow: bool = False
    ) -> list[Message]:
        """The hub answers without Rasa: a request for a person opens a ticket for the team
        of the conversation's topic (from the intents stored on its messages), with the same
        off-hours notice the bot gives; anything else gets an honest notice and the button."""
        if _wants_human(text):
            ticket = handoff.create_ticket(
                self.db,
                conv.id,
                reason="assistant_unavailable",
                intent=self.topic_of(conv.id),
                summary=" / ".join(
                    t for t in transcript.recent_learner_text(self.db, conv.id) if t
                )[:400],
                hours=self.hours,
            )
            return [self._queued_notice(conv.id, ticket, lang, after_hours=True)]
        return [self._trouble_notice(conv, lang, "rasa_slow" if slow else "rasa_down")]

    def _trouble_notice(self, conv: Conversation, lang: str, key: str, **values: str) -> Message:
        button = {"title": say("human_button", lang), "payload": HUMAN_PAYLOAD}
        return self.post(
            conv.id,
            "system",
            say(key, lang, **values),
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
        text = say("queued", lang, team=handoff.team_name(ticket.team, lang), ticket=ticket.id)
        if after_hours and not self.hours.is_open_ts(time.time()):
            hours = {"opens": f"{self.hours.opens:%H:%M}", "closes": f"{self.hours.closes:%H:%M}"}
            text += "\n\n" + t("handoff_after_hours", lang, **hours)
        msg = self.post(
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
        self.announce_mode(conversation_id)
        return msg

    def back_to_bot(self, conv: Conversation) -> Message | None:
        """The learner goes back to the assistant, also while an agent holds the chat: a
        learner must never be stuck waiting on a person. Only the wish to talk is withdrawn:
        a ticket that is a team's work (a refused refund's review, a complaint) stays open as
        a case and the learner is told who still has it (handoff.leave_chat); any other is
        cancelled. The notice (in the learner's language) names the agent it was with, so
        the console can tell them."""
        ticket = handoff.human_mode(self.db, conv.id)
        if ticket is None:
            return None
        after = handoff.leave_chat(self.db, conv.id)
        kept = after is not None and after.is_open
        text = (
            say(
                "left_case",
                conv.lang,
                team=handoff.team_name(ticket.team, conv.lang),
                ticket=ticket.id,
            )
            if kept
            else say("cancelled", conv.lang)
        )
        msg = self.post(
            conv.id,
            "system",
            text,
            lang=conv.lang,
            payload={
                "event": "left_chat" if kept else "cancelled",
                "ticket_id": ticket.id,
                "agent": ticket.claimed_by,
            },
        )
        self.announce_mode(conv.id)
        return msg

    def rate(
        self, conv: Conversation, score: int, comment: str = "", ticket_id: int | None = None
    ) -> handoff.Ticket:
        """Rate the ticket the star row belongs to (or, for an older page that sends no id,
        the latest resolved one), once."""
        where, args = "conversation_id = ? AND status = 'resolved'", [conv.id]
        if ticket_id is not None:
            where, args = where + " AND id = ?", [*args, ticket_id]
        rows = list(
            self.db["tickets"].rows_where(where, args, order_by="resolved_at desc", limit=1)
        )
        if not rows:
            raise handoff.NotFound(
                "this conversation has no such resolved ticket to rate · 没有可评价的已解决工单"
            )
        ticket = handoff.rate(self.db, rows[0]["id"], score, comment)
        self.post(
            conv.id,
            "system",
            say("thanks_rating", conv.lang),
            lang=conv.lang,
            payload={"event": "csat", "ticket_id": ticket.id, "score": score},
        )
        return ticket

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
        buttons = [
            {"title": h.entry.question, "payload": pick_payload(h.entry.id)} for h in hits[:3]
        ]
        buttons.append({"title": say("human_button", lang), "payload": HUMAN_PAYLOAD})
        return self.post(
            conv.id,
            "bot",
            say("next_best", lang),
            lang=lang,
            payload={"buttons": buttons, "event": "next_best"},
        )

    # ---- the agent side -----------------------------------------------------------
    def claim(
        self, ticket_id: int, agent: str, agent_name: str, teams: list[str] | None = None
    ) -> handoff.Ticket:
        """`teams`: the teams whose tickets the agent may take (None: any, for managers)."""
        ticket = handoff.claim(self.db, ticket_id, agent, teams=teams)
        self._joined(ticket, agent, agent_name)
        return ticket

    def _joined(self, ticket: handoff.Ticket, agent: str, agent_name: str) -> None:
        lang = self._lang(ticket.conversation_id)
        self.post(
            ticket.conversation_id,
            "system",
            say("claimed", lang, agent=agent_name),
            lang=lang,
            payload={"event": "claimed", "ticket_id": ticket.id, "agent": agent},
        )
        self.announce_mode(ticket.conversation_id)  # a claimed case is now a chat

    def agent_reply(self, ticket_id: int, agent: str, agent_name: str, text: str) -> Message:
        was = handoff.get_ticket(self.db, ticket_id)
        ticket = handoff.record_agent_reply(self.db, ticket_id, agent)
        msg = self.post(
            ticket.conversation_id,
            "agent",
            text,
            author=agent,
            payload={"agent_name": agent_name, "ticket_id": ticket.id},
        )
        if was.channel != ticket.channel:  # a case answered in the chat: now human mode
            self.announce_mode(ticket.conversation_id)
        return msg

    def transfer(
        self, ticket_id: int, agent: str, team: str, note: str = "", override: bool = False
    ) -> handoff.Ticket:
        ticket = handoff.transfer(
            self.db, ticket_id, agent, team, note, override=override, hours=self.hours
        )
        lang = self._lang(ticket.conversation_id)
        self.post(
            ticket.conversation_id,
            "system",
            say("transferred", lang, team=handoff.team_name(team, lang)),
            lang=lang,
            payload={"event": "transferred", "ticket_id": ticket.id, "team": team},
        )
        self.announce_mode(ticket.conversation_id)
        return ticket

    def release(
        self, ticket_id: int, agent: str, note: str = "", override: bool = False
    ) -> handoff.Ticket:
        """Back to the same team's queue; the learner stays in human mode and is told."""
        ticket = handoff.release(
            self.db, ticket_id, agent, note, override=override, hours=self.hours
        )
        lang = self._lang(ticket.conversation_id)
        self.post(
            ticket.conversation_id,
            "system",
            say("released", lang, team=handoff.team_name(ticket.team, lang)),
            lang=lang,
            payload={"event": "released", "ticket_id": ticket.id, "team": ticket.team},
        )
        self.announce_mode(ticket.conversation_id)
        return ticket

    def reassign(
        self,
        ticket_id: int,
        manager: str,
        to_agent: str,
        to_name: str,
        note: str = "",
        to_teams: list[str] | None = None,
    ) -> handoff.Ticket:
        """`to_teams`: the new owner's teams (None: a manager, any team)."""
        ticket = handoff.reassign(self.db, ticket_id, manager, to_agent, note, to_teams=to_teams)
        self._joined(ticket, to_agent, to_name)
        return ticket

    def resolve(
        self, ticket_id: int, agent: str, agent_name: str, note: str = ""
    ) -> handoff.Ticket:
        ticket = handoff.resolve(self.db, ticket_id, agent, note)
        lang = self._lang(ticket.conversation_id)
        self.post(
            ticket.conversation_id,
            "system",
            say("resolved", lang, agent=agent_name),
            lang=lang,
            payload={
                "event": "resolved",
                "ticket_id": ticket.id,
                "csat": {"ticket_id": ticket.id, "scale": [1, 2, 3, 4, 5]},
            },
        )
        self.announce_mode(ticket.conversation_id)
        return ticket

    def _lang(self, conversation_id: str) -> str:
        conv = transcript.get_conversation(self.db, conversation_id)
        return conv.lang if conv else "zh"


def _wants_human(text: str) -> bool:
    return text.strip() == HUMAN_PAYLOAD or bool(_ASKS_FOR_HUMAN.search(text))


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
