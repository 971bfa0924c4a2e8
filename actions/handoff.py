"""Handing the conversation to a person: the ticket, the team, and what the learner is told."""

import time
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import handoff
from actions.context import lang_of, topic_intent
from actions.refund_decisions import log_withdrawn
from actions.slots import reset_flow
from bot import runtime
from replies import t


def recent_learner_texts(tracker: Tracker, n: int = 3) -> list[str]:
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return [x for x in texts if x and not x.startswith("/")][-n:]


def file_ticket(
    tracker: Tracker,
    *,
    reason: str,
    intent: str | None = None,
    category: str | None = None,
    order_id: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    summary: str = "",
    channel: str = "chat",
) -> handoff.Ticket:
    rt = runtime.get()
    return rt.db.writing(
        handoff.create_ticket,
        tracker.sender_id,
        reason=reason,
        intent=intent or topic_intent(tracker),
        category=category,
        order_id=order_id,
        priority=priority,
        team=team,
        channel=channel,
        hours=rt.hours,
        summary=summary or " / ".join(recent_learner_texts(tracker)),
    )


def open_handoff(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    reason: str,
    intent: str | None = None,
    category: str | None = None,
    order_id: str | None = None,
    priority: str | None = None,
    team: str | None = None,
    summary: str = "",
    opening: str = "handoff_open",
    opening_values: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Queue the conversation for a person and tell the learner, in one message that opens
    with `opening` (a copy key that says why and names the {team}, and whatever else
    `opening_values` fills in); ends any flow."""
    rt = runtime.get()
    lang = lang_of(tracker)
    ticket = file_ticket(
        tracker,
        reason=reason,
        intent=intent,
        category=category,
        order_id=order_id,
        priority=priority,
        team=team,
        summary=summary,
    )
    said = t(opening, lang, team=handoff.team_name(ticket.team, lang), **(opening_values or {}))
    said += ("" if lang == "zh" else " ") + t("handoff_promise", lang)
    if not rt.hours.is_open_ts(time.time()):  # when, as a paragraph of the same message
        hours = {"opens": f"{rt.hours.opens:%H:%M}", "closes": f"{rt.hours.closes:%H:%M}"}
        said += "\n\n" + t("handoff_after_hours", lang, **hours)
    dispatcher.utter_message(text=said)
    return [*reset_flow(), SlotSet("kb_misses", 0.0)]


class ActionHandoff(Action):
    """Tells the learner a person from the right team is joining, and queues the chat."""

    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return open_handoff(dispatcher, tracker, reason="learner_asked")


class ActionDeclineHuman(Action):
    """After "not now": the team keeps the case and will follow up in the chat."""

    def name(self) -> str:
        return "action_decline_human"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=t("decline_human", lang_of(tracker)))
        return []


class ActionStopForm(Action):
    """The learner leaves a form midway ("算了", "never mind"): nothing is recorded."""

    def name(self) -> str:
        return "action_stop_form"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        log_withdrawn(tracker)  # a "no" to a refund's amount is a figure for the managers
        dispatcher.utter_message(text=t("form_stopped", lang_of(tracker)))
        return reset_flow()
