"""Reading the learner and the conversation off a Rasa tracker."""

from typing import Any

from rasa_sdk import Tracker

from kb_index.lang import detect_lang

# Intents that say something about the learner's problem, used to route a handoff
# to the right team even when the last message was only "转人工".
_GENERIC = {
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "request_human",
    "out_of_scope",
    "nlu_fallback",
    None,
}


def metadata(tracker: Tracker) -> dict[str, Any]:
    return (tracker.latest_message or {}).get("metadata") or {}


def lang_of(tracker: Tracker) -> str:
    """The learner's language for this reply: the `lang` slot (set on each message by
    `actions/language.py`, which keeps it for a form's value), else the hub's per-message
    detection, else detection on the text."""
    lang = tracker.get_slot("lang") or metadata(tracker).get("lang")
    if lang in ("zh", "en"):
        return lang
    return detect_lang((tracker.latest_message or {}).get("text") or "", default="zh")


def learner_id(tracker: Tracker) -> str | None:
    """Who the learner is comes from the hub's conversation, never from what they typed."""
    return metadata(tracker).get("learner_id")


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def started_this_turn(tracker: Tracker, form: str) -> bool:
    """Whether `form` was activated by the learner's latest message (not by an answer to
    one of its questions): its activation is among the events after that message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "active_loop" and event.get("name") == form:
            return True
    return False


def previous_action(tracker: Tracker) -> str | None:
    """The bot's last action before the learner's latest message (what the message answers)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif (
            seen_user
            and event.get("event") == "action"
            and event.get("name")
            not in (
                "action_listen",
                "action_detect_language",
            )
        ):
            return event.get("name")
    return None


def latest_intent(tracker: Tracker) -> tuple[str | None, float | None]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), intent.get("confidence")


def read_from(tracker: Tracker) -> str | None:
    """The intent the NLU read the latest message as first, when the hub's reading of it
    made it another (rasa_addons/option_guard.py): "complaint" for a fault told angrily."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("read_from")


# Each form's own intent: a message that arrives while a form asks its questions is an
# answer in that flow, so the flow, not the NLU's reading of the answer, names the topic.
FORM_INTENT = {
    "refund_form": "refund_request",
    "complaint_form": "complaint",
    "invoice_form": "invoice_request",
    "account_form": "account_update",
    "privacy_form": "privacy_request",
    "piracy_form": "piracy_report",
}


def topic_intent(tracker: Tracker) -> str | None:
    """The topic of the flow the learner is in, for routing a handoff: the latest message's
    form's own intent if it came while a form was asking (an order button "Python 入门实战 ·
    ¥199" read as playback_problem 0.24 sent invoices to tech), else the most recent intent
    that names a topic. A tapped option (metadata `option`) is an answer, never a topic."""
    topics: list[str] = []
    form = None
    for event in tracker.events:
        kind = event.get("event")
        if kind == "active_loop":
            form = event.get("name")
        elif kind == "user":
            if form in FORM_INTENT:
                topics.append(FORM_INTENT[form])
                continue
            if (event.get("metadata") or {}).get("option"):
                continue
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name not in _GENERIC and name != "ask_question":
                topics.append(name)
    return topics[-1] if topics else None
