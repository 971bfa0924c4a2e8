"""Helpers for action tests in the Rasa demos' style: Tracker.from_dict + CollectingDispatcher."""

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def make_tracker(
    text: str,
    intent: str,
    *,
    sender: str = "c_test",
    lang: str = "en",
    learner_id: str = "L1001",
    slots: dict[str, Any] | None = None,
    entities: list[dict] | None = None,
    events: list[dict] | None = None,
    active_loop: str | None = None,
    requested_slot: str | None = None,
    extracted: dict[str, Any] | None = None,
    confidence: float = 0.93,
) -> Tracker:
    """A tracker whose latest message is `text`; `extracted` are slots Rasa filled from it
    (what a form's validation action is asked to check)."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "metadata": {"learner_id": learner_id, "lang": lang, "conversation_id": sender},
    }
    user_event = {
        "event": "user",
        "text": text,
        "parse_data": latest,
        "metadata": latest["metadata"],
    }
    slots = {"lang": lang, **(slots or {}), **(extracted or {})}
    if requested_slot:
        slots["requested_slot"] = requested_slot
    slot_events = [{"event": "slot", "name": k, "value": v} for k, v in (extracted or {}).items()]
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": slots,
            "latest_message": latest,
            "events": [*(events or []), user_event, *slot_events],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


def activated(tracker: Tracker, form: str) -> Tracker:
    """The same tracker once `form` has been activated by its latest message (what
    context.started_this_turn looks for)."""
    tracker.events.append({"event": "active_loop", "name": form})
    tracker.active_loop = {"name": form}
    return tracker


@lru_cache(maxsize=1)
def domain() -> dict:
    from bot.settings import ROOT

    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def run(action, tracker: Tracker) -> tuple[list[dict], list[dict]]:
    """Run an action (sync or async) with the real domain; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain())
    if inspect.iscoroutine(events):
        # in a thread of its own: Playwright's sync API may hold this thread's event loop
        with ThreadPoolExecutor(1) as pool:
            events = pool.submit(asyncio.run, events).result()
    return events, dispatcher.messages


def required_slots(validation, form: str, tracker: Tracker) -> list[str]:
    """What `form` asks for now: its domain slots as its validation action narrows them."""
    slots = domain()["forms"][form]["required_slots"]
    ask = validation.required_slots(slots, CollectingDispatcher(), tracker, domain())
    with ThreadPoolExecutor(1) as pool:  # as run: keep off this thread's event loop
        return pool.submit(asyncio.run, ask).result()


def texts(messages: list[dict]) -> str:
    """Everything the bot said, text and custom text, as one string."""
    return "\n".join(m.get("text") or (m.get("custom") or {}).get("text") or "" for m in messages)


def slot_events(events: list[dict]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
