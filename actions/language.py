"""Keeps the `lang` slot on the learner's current language, so replies follow a switch.

A value typed where a form asks for one (a company called "Acme Tech Ltd", an address
"liming#qq.com", a tax id) is no switch: the form goes on in the conversation's language.
A choice typed out in words ("不退了" at the refund's confirmation, "课程质量" as what a
complaint is about) is the learner's own language, and switches like any other message.
The slot is the conversation's language for every action (`context.lang_of`); it is decided
here from the text, with the slot's previous value as the default, rather than from the
hub's per-message guess, whose default follows any English text (the value included)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import asks_about
from actions.context import latest_text, metadata
from actions.form_guard import VALUE_SLOTS
from kb_index.lang import detect_lang

# slots answered by picking one of a few options: typed, the answer is the learner's words,
# not a name, an address or an id
CHOICE_SLOTS = {
    "flow_confirmed",
    "invoice_type",
    "complaint_category",
    "account_field",
    "privacy_type",
}


def answers_a_value(tracker: Tracker) -> bool:
    """Is the latest message a form's value (not a question typed where the value goes)?"""
    slot = tracker.get_slot("requested_slot")
    if not (tracker.active_loop or {}).get("name") or slot not in VALUE_SLOTS:
        return False
    if slot in CHOICE_SLOTS and not metadata(tracker).get("option"):
        return False
    return bool(metadata(tracker).get("option")) or not asks_about(latest_text(tracker))


class ActionDetectLanguage(Action):
    """Silent: sets `lang` from the message's text, keeping it for a form's value."""

    def name(self) -> str:
        return "action_detect_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        current = tracker.get_slot("lang")
        if current in ("zh", "en") and answers_a_value(tracker):
            return [SlotSet("lang", current)]
        hub = metadata(tracker).get("lang")
        default = current if current in ("zh", "en") else hub if hub in ("zh", "en") else "zh"
        return [SlotSet("lang", detect_lang(latest_text(tracker), default=default))]
