"""Keeps the `lang` slot on the learner's current language, so replies follow a switch.

A value typed where a form asks for one (a company called "Acme Tech Ltd", an address
"liming#qq.com", a tax id) is no switch: the form goes on in the conversation's language.
A choice typed out in words ("不退了" at the refund's confirmation, "课程质量" as what a
complaint is about) is the learner's own language, and switches like any other message.
The slot is the conversation's language for every action (`context.lang_of`); it is decided
from the text with the slot's previous value as the default, by the same reading the hub
makes before the turn (`reading.language`), rather than taken from the hub's metadata, so
the bot's own state (its requested slot, a tapped option) is what counts."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import reading
from actions.context import latest_text, metadata


class ActionDetectLanguage(Action):
    """Silent: sets `lang` from the message's text, keeping it for a form's value."""

    def name(self) -> str:
        return "action_detect_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        current = tracker.get_slot("lang")
        hub = metadata(tracker).get("lang")
        if current not in ("zh", "en"):
            current = hub if hub in ("zh", "en") else "zh"
        in_form = (tracker.active_loop or {}).get("name")
        slot = tracker.get_slot("requested_slot") if in_form else None
        option = bool(metadata(tracker).get("option"))
        return [SlotSet("lang", reading.language(latest_text(tracker), current, slot, option))]
