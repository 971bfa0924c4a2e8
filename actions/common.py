"""Small helpers the flow actions share: the learner's data, dates, order buttons."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions import runtime
from actions.context import latest_intent, latest_text, learner_id
from actions.course_match import named_orders
from actions.messages import t
from bot.platform import Learner, Order
from bot.platform.validation import find_order_id

TZ = ZoneInfo("Asia/Shanghai")


def date(ts: float | None, lang: str) -> str:
    if ts is None:
        return "—"
    d = datetime.fromtimestamp(ts, TZ)
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.strftime("%-d %b %Y")


def learner_of(tracker: Tracker) -> Learner | None:
    lid = learner_id(tracker)
    return runtime.get().platform.learner(lid) if lid else None


def learner_orders(tracker: Tracker) -> list[Order]:
    """The learner's orders, most recent first; none without a learner."""
    lid = learner_id(tracker)
    return runtime.get().platform.orders(lid) if lid else []


def chosen_order(tracker: Tracker) -> tuple[Learner | None, Order | None]:
    """The learner and the order in the `order_id` slot (None if it is not theirs)."""
    learner = learner_of(tracker)
    if learner is None:
        return None, None
    return learner, runtime.get().platform.order(learner.id, tracker.get_slot("order_id") or "")


def about_order(tracker: Tracker, lang: str) -> str:
    """A prefix, "About <course> (<order id>): ", for a form's next question once the order
    is known, so a learner whose order was read from their words sees which one it is."""
    _, order = chosen_order(tracker)
    if order is None:
        return ""
    return t("about_order", lang, course=course_name(order, lang), order_id=order.id)


def course_name(order: Order, lang: str) -> str:
    return order.course.name(lang) if order.course else order.course_id


def order_buttons(orders: list[Order], lang: str, limit: int = 5) -> list[dict[str, str]]:
    """The learner's orders as buttons; each sends the order id."""
    return [
        {
            "title": t(
                "order_button",
                lang,
                course=course_name(o, lang),
                amount=o.amount,
                date=date(o.paid_at, lang),
            ),
            "payload": o.id,
        }
        for o in orders[:limit]
    ]


def match_order(orders: list[Order], text: str | None, course: str | None = None) -> Order | None:
    """The order a learner means: an order id in the text, else the one order whose course
    they name (the `course` entity first, then the text; `course_match`). None if the text
    names no order of theirs, or several equally well."""
    oid = find_order_id((text or "").strip())
    if oid:
        return next((o for o in orders if o.id == oid), None)
    for wanted in (course, text):
        named = named_orders(orders, wanted)
        if named:
            return named[0] if len(named) == 1 else None
    return None


def names_an_order(tracker: Tracker, text: str) -> bool:
    """Whether the text has an order number or names a course the learner bought."""
    return bool(find_order_id(text) or named_orders(learner_orders(tracker), text))


def access_text(order: Order, lang: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    if order.status == "refunded":
        return t("access_refunded", lang)
    if order.access_until is None:
        return t("access_lifetime", lang)
    key = "access_until" if order.access_until > now else "access_ended"
    return t(key, lang, date=date(order.access_until, lang))


def says(text: str, word: str) -> bool:
    """Whether lower-cased `text` contains `word`; an English word only at the start of a
    word, so "app" is not found in "disappointed" (Chinese has no word boundaries)."""
    if word.isascii():
        return re.search(r"(?<![a-z0-9])" + re.escape(word), text) is not None
    return word in text


# How a message asks *about* something rather than *for* it ("能开专票吗", "can I get a
# paper invoice?" against "我要开发票", "I want a refund"): a question mark, a Chinese
# question particle or question word, or an English question word first.
_QUESTION_MARKERS = re.compile(
    r"[吗呢？?]|什么|怎么|怎样|为什么|为啥|能不能|可不可以|是不是|是否|如何|多久|多少|哪|几"
)
_EN_QUESTION_START = re.compile(
    r"^\s*(can|could|do|does|did|is|are|will|would|how|what|when|where|which|why|may|should)\b"
)


def asks_about(text: str) -> bool:
    """Whether `text` is phrased as a question."""
    text = text.strip().lower()
    return bool(_QUESTION_MARKERS.search(text) or _EN_QUESTION_START.match(text))


def pick(value: object, words: dict[str, tuple[str, ...]]) -> str | None:
    """The code a free-text answer means: the code itself (what a button sends), else the
    first code, in the dict's order, one of whose words the answer contains."""
    text = str(value).strip().lower()
    if text in words:
        return text
    return next((code for code, ws in words.items() if any(says(text, w) for w in ws)), None)


# a typed yes at a confirmation step (its button sends "/affirm"; "no" is the form's way out)
CONFIRM_WORDS = ("yes", "confirm", "go ahead", "确认", "确定", "是的", "好的")
# what a confirmation takes from the NLU's affirm: plain yeses ("ok", "嗯", "行吧") score 1.0,
# while "hmm what?" (0.79) and "等等" (0.75) read as affirm too. A yes here moves money or
# deletes an account, and a missed one costs only a "please tap Yes"
SURE_AFFIRM = 0.9


def confirmed(tracker: Tracker, text: str, also: tuple[str, ...] = ()) -> bool:
    """A yes to a confirmation: the "yes" button, a sure affirm, or a typed yes."""
    intent, confidence = latest_intent(tracker)
    sure = intent == "affirm" and (confidence or 0.0) >= SURE_AFFIRM
    return sure or pick(text, {"yes": CONFIRM_WORDS + also}) == "yes"


def codes_named(text: str, words: dict[str, tuple[str, ...]]) -> set[str]:
    """Every code one of whose words `text` contains."""
    text = text.lower()
    return {code for code, ws in words.items() if any(says(text, w) for w in ws)}


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


def at_form_start(tracker: Tracker, slot: str) -> bool:
    """The form has asked nothing yet and `slot` is empty: its first message may fill it."""
    return not tracker.get_slot(slot) and not tracker.get_slot("requested_slot")


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else phone


def mask_email(email: str) -> str:
    name, _, host = email.partition("@")
    return (name[:1] + "***@" + host) if host else email


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
    "privacy_attempts",
    "flow_confirmed",
    "piracy_link",
    "piracy_evidence",
    "ts_topic",
    "ts_step",
)


def reset_flow(keep: tuple[str, ...] = ()) -> list[dict]:
    """Events that end any flow: no active form, no requested slot, flow slots cleared."""
    from rasa_sdk.events import ActiveLoop, SlotSet

    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *(SlotSet(s, None) for s in FLOW_SLOTS if s not in keep),
    ]
