"""Helpers for action tests in the Rasa demos' style: Tracker.from_dict + CollectingDispatcher."""

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def make_tracker(text: str, intent: str, *, sender: str = "c_test", lang: str = "en",
                 learner_id: str = "L1001", slots: dict[str, Any] | None = None,
                 entities: list[dict] | None = None, events: list[dict] | None = None,
                 active_loop: str | None = None, requested_slot: str | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.93},
              "entities": entities or [],
              "metadata": {"learner_id": learner_id, "lang": lang, "conversation_id": sender}}
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": latest["metadata"]}
    slots = {"lang": lang, **(slots or {})}
    if requested_slot:
        slots["requested_slot"] = requested_slot
    return Tracker.from_dict({
        "sender_id": sender,
        "slots": slots,
        "latest_message": latest,
        "events": [*(events or []), user_event],
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    })


def run(action, tracker: Tracker, domain: dict | None = None) -> tuple[list[dict], list[dict]]:
    """Run an action; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain or {})
    return events, dispatcher.messages


def slot_events(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
