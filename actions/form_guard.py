"""What a form does with a message that does not answer its question.

A form's slots are filled from the learner's text, so without a guard "我要退款" typed where
the invoice title goes became the title, and "发票多久能收到" where the email goes was
refused as a bad address. Where a slot wants a value (an order, a choice, a code, an
address) and the message is plainly something else, it is met for what it is and the
question is asked again:

- a question (phrased as one, and NLU `ask_question`, or the flow's own intent where no
  question can be the answer), or a tapped KB article on any slot: answered from the KB;
- "where is my refund?" (`refund_status`): answered from the learner's refunds;
- another errand (a flow intent other than the form's own, confidently): the learner is
  told to finish this first or say "cancel" (the form's way out), then what they need;
- small talk ("谢谢", "ok thx", "hi") or a message of emoji only: not an order called
  "谢谢" ("I couldn't find “ok thx” among your orders", asked again and again); the learner
  is thanked where due and told how to go on or stop.

A message that holds the very value asked for (an email, a tax id, a phone, a link, the
last 4 digits) is the answer whatever the NLU reads: "emma.li@example.com" at the email
question read as `account_update` at 0.82 and was refused as another errand. Order ids are
not among them: "我要退 AC10010001" at the invoice's order question is a refund.

Free-text slots (a refund reason, a complaint, piracy evidence) take anything: "课程内容太差了"
is a fair refund reason even though it reads as a complaint.
"""

from abc import abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.common import asks_about
from actions.context import lang_of, latest_intent, latest_text, metadata
from actions.kb import ActionAnswerQuestion, picked_entry
from actions.messages import t
from actions.refund_status import ActionRefundStatus
from bot import transcript
from bot.platform.validation import find_email, find_phone, find_tax_id, find_url

# slots whose answer is a value, never a sentence about something else
VALUE_SLOTS = {
    "order_id",
    "invoice_type",
    "invoice_title",
    "tax_id",
    "email",
    "account_field",
    "account_value",
    "privacy_type",
    "privacy_identity",
    "piracy_link",
}
ERRANDS = {
    "refund_request",
    "invoice_request",
    "complaint",
    "login_problem",
    "playback_problem",
    "payment_problem",
    "course_access",
    "certificate_request",
    "account_update",
    "privacy_request",
    "piracy_report",
}
# how sure the NLU must be that a value-slot answer is another errand: a company called
# "北京退款科技" must still be a title
ERRAND_CONFIDENCE = 0.8
# small talk where a value goes, and how sure the NLU must be
SMALL_TALK = {"thank", "goodbye", "greet", "affirm"}
SMALL_TALK_CONFIDENCE = 0.6
# asked in passing and answered at once
ASIDES: dict[str, type[Action]] = {"refund_status": ActionRefundStatus}


# slots no question can answer: a question typed there is about the flow's own topic
# ("发票多久能收到？" where the title goes) even when the NLU reads it as the flow's intent.
# Not the order (a question may name it: "数据分析那门课能退吗？") nor a piracy place
# ("闲鱼上有人在卖？").
NEVER_A_QUESTION = VALUE_SLOTS - {"order_id", "piracy_link"}


def holds_the_value(tracker: Tracker, slot: str, text: str) -> bool:
    """Does the message contain a well-formed value for `slot` (module doc)?"""
    if slot == "account_value":  # the form asked for the field the learner chose
        slot = {"phone": "phone", "email": "email"}.get(tracker.get_slot("account_field"), "")
    finders = {
        "email": find_email,
        "phone": find_phone,
        "tax_id": find_tax_id,
        "piracy_link": find_url,
    }
    if slot == "privacy_identity":
        return sum(c.isdigit() for c in text) >= 4
    return slot in finders and finders[slot](text) is not None


def not_an_answer(tracker: Tracker, slot: str, own_intent: str) -> str | None:
    """'question', 'refund_status', 'errand', 'thanks', 'small_talk', or None when the
    message may be the answer."""
    if picked_entry(tracker):  # a tapped KB article ("not helpful" offers others), any slot
        return "question"
    intent, confidence = latest_intent(tracker)
    text = latest_text(tracker)
    if slot not in VALUE_SLOTS or metadata(tracker).get("option") or text.startswith("/"):
        return None  # free text takes anything, and a tapped option is an answer
    if holds_the_value(tracker, slot, text):
        return None
    about_the_flow = intent == own_intent and slot in NEVER_A_QUESTION
    if (intent == "ask_question" or about_the_flow) and asks_about(text):
        return "question"
    if intent in ASIDES:
        return intent
    if intent in ERRANDS and intent != own_intent and (confidence or 0) >= ERRAND_CONFIDENCE:
        return "errand"
    if not any(c.isalnum() for c in text):  # "👍", "😀😀😀", "..."
        return "small_talk"
    if intent in SMALL_TALK and (confidence or 0) >= SMALL_TALK_CONFIDENCE:
        return "thanks" if intent in ("thank", "goodbye") else "small_talk"
    return None


class GuardedFormValidation(FormValidationAction):
    """A form validation whose value slots are guarded (module doc)."""

    own_intent: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """Abstract, so rasa-sdk registers the forms' validations and not this base."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        slot = tracker.get_slot("requested_slot")
        kind = not_an_answer(tracker, slot, self.own_intent) if slot else None
        if kind is None:
            message_id = metadata(tracker).get("message_id")
            if slot and message_id:  # its intent names no need: the reports skip it
                transcript.mark_answer(runtime.get().db, int(message_id), slot)
            return await super().run(dispatcher, tracker, domain)
        if kind in ("errand", "thanks", "small_talk"):
            copy = {"errand": "form_other_errand", "thanks": "form_thanks"}
            dispatcher.utter_message(text=t(copy.get(kind, "form_go_on"), lang_of(tracker)))
            events: list[dict[str, Any]] = []
        else:
            answer = ActionAnswerQuestion if kind == "question" else ASIDES[kind]
            events = answer().run(dispatcher, tracker, domain)
        return [*events, SlotSet(slot, None)]
