"""The flows' slots: which ones a flow fills, ending a flow cleanly, and what a form may take
from the message that started it."""

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.context import latest_text
from actions.wording import codes_named

# Every slot a flow fills; cleared when a flow ends so the next flow starts clean.
FLOW_SLOTS = (
    "order_id",
    "refund_reason",
    "complaint_category",
    "complaint_description",
    "invoice_type",
    "invoice_title",
    "tax_id",
    "email",
    "course",
    "account_field",
    "account_value",
    "privacy_type",
    "privacy_identity",
    "privacy_code_to",
    "flow_confirmed",
    "piracy_link",
    "piracy_evidence",
    "ts_topic",
    "ts_step",
)


def reset_flow(keep: tuple[str, ...] = ()) -> list[dict]:
    """Events that end any flow: no active form, no requested slot, flow slots cleared."""
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *(SlotSet(s, None) for s in FLOW_SLOTS if s not in keep),
    ]


def at_form_start(tracker: Tracker, slot: str) -> bool:
    """The form has asked nothing yet and `slot` is empty: its first message may fill it."""
    return not tracker.get_slot(slot) and not tracker.get_slot("requested_slot")


def option_at_start(
    tracker: Tracker,
    slot: str,
    words: dict[str, tuple[str, ...]],
    first: str | None = None,
    text: str | None = None,
) -> dict:
    """At a form's start, the option its first message (or `text`, read from it) names, if
    it names exactly one ("我想换绑手机号": phone; "please delete all my data": delete) or
    names `first` among others, so it is not asked."""
    if not at_form_start(tracker, slot):
        return {}
    named = codes_named(latest_text(tracker) if text is None else text, words)
    if first in named:
        return {slot: first}
    return {slot: named.pop()} if len(named) == 1 else {}
