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

A message that holds the very value asked for (an email, a tax id, a phone, a link, a
one-time code) is the answer whatever the NLU reads: "emma.li@example.com" at the email
question read as `account_update` at 0.82 and was refused as another errand. Order ids are
not among them: "我要退 AC10010001" at the invoice's order question is a refund. So is a name
shaped like the one asked for (reading.values): "Shanghai Xinghe Information Technology Co.,
Ltd." at the invoice title read as `piracy_report` at 0.9 and was told to finish the invoice
first; a company's or a person's name there, a nickname at the new nickname, is the answer
unless it is a question, a stop or a request for a person.

Free-text slots (a refund reason, a complaint, piracy evidence) take anything but a plain
question: "课程内容太差了" is a fair refund reason even though it reads as a complaint, while
"how long are live class replays kept?" typed where the reason goes filed a real refund. A
question there is one phrased as a question that the NLU calls `ask_question`, or that the
KB answers confidently and the NLU does not read as the form's own errand ("买错了，能退吗？"
stays a refund reason; "how long are live class replays kept?" read as a playback problem
is answered).

The order question takes a question when it names an order ("数据分析那门课能退吗？"); one that
names none of the learner's orders ("能开专票吗", "录播课可以退款吗") is answered, and small
talk the NLU calls out of scope ("今天天气不错") is no order either. On any value slot, a
question about another errand is answered ("how do I get an invoice?" where a complaint's
category goes, "what happens to my certificates?" before a deletion is confirmed); a request
for one ("我要退款") is told to finish this first.
"""

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of, latest_intent, latest_text, metadata
from actions.kb import ActionAnswerQuestion, picked_entry
from actions.orders import names_an_order
from actions.refund_status import ActionRefundStatus
from bot import runtime, transcript
from course_platform.validation import find_email, find_phone, find_tax_id, find_url
from reading import VALUE_SLOTS, asks_about, is_value
from replies import t

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
# Not the order (a question may name it: "数据分析那门课能退吗？"), a piracy place
# ("闲鱼上有人在卖？") nor a complaint's category ("为什么客服总是不回复？").
NEVER_A_QUESTION = VALUE_SLOTS - {"order_id", "piracy_link", "complaint_category"}


def holds_the_value(tracker: Tracker, slot: str, text: str) -> bool:
    """Does the message contain a well-formed value for `slot` (module doc)?"""
    if slot == "invoice_title":  # a company's or a person's name
        return is_value(slot, text)
    if slot == "account_value":  # the form asked for the field the learner chose
        field = tracker.get_slot("account_field")
        if field == "nickname":
            return is_value(slot, text)
        slot = {"phone": "phone", "email": "email"}.get(field, "")
    finders = {
        "email": find_email,
        "phone": find_phone,
        "tax_id": find_tax_id,
        "piracy_link": find_url,
    }
    if slot == "privacy_identity":  # a code, or digits typed as one: a try either way
        return sum(c.isdigit() for c in text) >= 4
    return slot in finders and finders[slot](text) is not None


def kb_answers(tracker: Tracker, text: str) -> bool:
    """Whether the KB answers `text` confidently (what `ActionAnswerQuestion` would say)."""
    return runtime.get().kb.answer(text, lang=lang_of(tracker)).kind == "answer"


def plain_question(tracker: Tracker, text: str, intent: str | None, own_intent: str) -> bool:
    """A question where free text goes (module doc): phrased as one, and NLU `ask_question`,
    or not the form's own intent and answered by the KB with confidence."""
    if not asks_about(text):
        return False
    if intent == "ask_question":
        return True
    return intent != own_intent and kb_answers(tracker, text)


def not_an_answer(
    tracker: Tracker,
    slot: str,
    own_intent: str,
    holds: Callable[[Tracker, str, str], bool] | None = None,
) -> str | None:
    """'question', 'refund_status', 'errand', 'thanks', 'small_talk', or None when the
    message may be the answer. `holds` is a form's own test for a message that holds the
    value (a complaint's category named in a sentence)."""
    if picked_entry(tracker):  # a tapped KB article ("not helpful" offers others), any slot
        return "question"
    intent, confidence = latest_intent(tracker)
    confidence = confidence or 0
    text = latest_text(tracker)
    if metadata(tracker).get("option") or text.startswith("/"):
        return None  # a tapped option is an answer
    if slot not in VALUE_SLOTS:
        if intent in ASIDES and asks_about(text):  # "where is my refund?" as the reason
            return intent
        return "question" if plain_question(tracker, text, intent, own_intent) else None
    if holds_the_value(tracker, slot, text) or (holds and holds(tracker, slot, text)):
        return None
    question = asks_about(text)
    about_the_flow = intent == own_intent and slot in NEVER_A_QUESTION
    if question and (intent == "ask_question" or about_the_flow):
        return "question"
    if intent in ASIDES:
        return intent
    if intent in ERRANDS and intent != own_intent and confidence >= ERRAND_CONFIDENCE:
        return "question" if question else "errand"
    no_order = slot == "order_id" and not names_an_order(tracker, text)
    if question and no_order:  # "能开专票吗": a question, not an order called that
        return "question"
    if not any(c.isalnum() for c in text):  # "👍", "😀😀😀", "..."
        return "small_talk"
    if intent in SMALL_TALK and confidence >= SMALL_TALK_CONFIDENCE:
        return "thanks" if intent in ("thank", "goodbye") else "small_talk"
    if no_order and intent == "out_of_scope" and confidence >= SMALL_TALK_CONFIDENCE:
        return "small_talk"  # "今天天气不错"
    return None


class GuardedFormValidation(FormValidationAction):
    """A form validation whose value slots are guarded (module doc)."""

    own_intent: ClassVar[str]

    def holds_value(self, tracker: Tracker, slot: str, text: str) -> bool:
        """A form's own test for a message that holds the value of `slot`."""
        return False

    @abstractmethod
    def name(self) -> str:
        """Abstract, so rasa-sdk registers the forms' validations and not this base."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        slot = tracker.get_slot("requested_slot")
        kind = not_an_answer(tracker, slot, self.own_intent, self.holds_value) if slot else None
        if kind is None:
            message_id = metadata(tracker).get("message_id")
            if slot and message_id:  # its intent names no need: the reports skip it
                runtime.get().db.writing(transcript.mark_answer, int(message_id), slot)
            return await super().run(dispatcher, tracker, domain)
        if kind in ("errand", "thanks", "small_talk"):
            copy = {"errand": "form_other_errand", "thanks": "form_thanks"}
            dispatcher.utter_message(text=t(copy.get(kind, "form_go_on"), lang_of(tracker)))
            events: list[dict[str, Any]] = []
        else:
            answer = ActionAnswerQuestion if kind == "question" else ASIDES[kind]
            events = answer().run(dispatcher, tracker, domain)
        return [*events, SlotSet(slot, None)]
