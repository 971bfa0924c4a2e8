"""Typed answers to a form's free-text questions that the NLU would read as a way out.

Asked why they want a refund, learners write "不需要了", "没什么用", "don't need it anymore":
all `deny` to the NLU, which is also how "算了" and "cancel" leave a form, so the reason
cancelled the refund; "没用" as what a complaint is about cancelled the complaint. For such
questions the hub names the flow's intent in the message metadata (`answer_intent`);
rasa_addons/option_guard.py then reads a `deny` as that intent and the form takes the text as
its answer. The same holds at the order question for a message that names one of the
learner's courses ("Business English" reads as request_human). Only a message that says to
stop, or asks for a person (bot/chat.py), keeps its way out.
"""

import re
import unicodedata
from typing import Any

# (form, requested slot) -> the flow's own intent, for questions whose typed answer the NLU
# may read as a way out: why a refund; what a complaint is about ("没用" there is the
# complaint); whom an invoice is for
FREE_TEXT_QUESTIONS = {
    ("refund_form", "refund_reason"): "refund_request",
    ("complaint_form", "complaint_category"): "complaint",
    ("complaint_form", "complaint_description"): "complaint",
    # "for a company" reads as request_human (0.46), "company" alone too (0.66)
    ("invoice_form", "invoice_type"): "invoice_request",
}

# the order questions: a course named there ("Business English" reads as request_human, 0.46)
# is the order, when it names one of the learner's orders
ORDER_QUESTIONS = {
    ("refund_form", "order_id"): "refund_request",
    ("invoice_form", "order_id"): "invoice_request",
}

# what leaves a form even here: an explicit stop, or a bare "no" (the refund's amount is
# confirmed after the reason, so a "no"-sounding reason taken as one is caught there)
_STOP = re.compile(
    r"算了|取消|不退了|不退款了|不用退|不投诉了|先不|不办了|不弄了|没事了|"
    r"\bcancel|never\s*mind|forget (about )?it|\bstop\b|don'?t (want a )?refund|"
    r"^\s*(no|nope|no thanks|不|不了|不要|不用|不用了)\s*[.!。！~]*\s*$",
    re.IGNORECASE,
)


def answer_intent(
    asking: tuple[str, str] | None, text: str, names_an_order: bool = False
) -> str | None:
    """The intent to read `text` as if it sounds like "no", given the question the bot is
    asking (its form and slot) and whether the text names one of the learner's orders;
    None to leave the NLU's reading alone."""
    intent = FREE_TEXT_QUESTIONS.get(asking) if asking else None
    if intent is None and names_an_order and asking:
        intent = ORDER_QUESTIONS.get(asking)
    if intent is None or _STOP.search(text):
        return None
    return intent


_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def _key(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def typed_option(buttons: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The offered button whose title the learner typed (case, width, spaces and
    punctuation aside): typing "personal" at "Personal / Company" is tapping it, so it is
    not read as a request for a person."""
    key = _key(text)
    if not key:
        return None
    return next((b for b in buttons if _key(str(b.get("title", ""))) == key), None)
