"""Keeps the `lang` slot on the learner's current language, so replies follow a switch."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import latest_text, metadata
from kb_index.lang import detect_lang


class ActionDetectLanguage(Action):
    """Silent: sets `lang` from the hub's per-message detection (or the text itself)."""

    def name(self) -> str:
        return "action_detect_language"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = metadata(tracker).get("lang")
        if lang not in ("zh", "en"):
            lang = detect_lang(latest_text(tracker), default=tracker.get_slot("lang") or "zh")
        return [SlotSet("lang", lang)]
