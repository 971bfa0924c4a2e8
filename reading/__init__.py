"""Reading a learner's message before the dialogue: one entry point, `read`.

The NLU classifies a message on its words alone. Some readings need what only the hub has
at hand, and are made here, once:

- **language**: zh or en for this reply; a value typed where a form asks for one ("Acme
  Tech Ltd" in a Chinese chat, an email, a tax id) is no switch (`language`);
- **a typed button**: typing an offered button's title is tapping it ("personal" at
  "Personal / Company" is not a request for a person) (`typed_option`);
- **a tapped option**: a plain-value payload (an order id, "company", "买错了") is the answer
  to the form's question, never a way out of it;
- **an answer to the open question** that sounds like "no" ("不需要了" as a refund's reason,
  "for a company" as an invoice's type, a course's name at the order question) is read as
  the flow's intent, unless it says to stop or asks for a person (`answer_intent`);
- **a value shaped like the one asked for** (a company's name at the invoice title, a
  nickname) is read as the flow's intent whatever else the NLU reads, unless it is a
  question, a stop or a request for a person (`value_answer`, `reading.values`);
- **two needs in one message**, where no form asks anything: a technical fault it names
  (the guide that fixes it) and an explicit request to complain (`reading.needs`);
- **a course's name alone**, where no form asks anything ("数据分析"), is a question about
  that order (`read_as: ask_question`), whatever its words suggest to the NLU;
- **a request for a person** ("转人工", "human"; not "personal"), which the hub serves
  itself when Rasa is down or slow (`wants_person`).

Why here: the hub reads every message before Rasa sees it, with the buttons it just
offered, the form question the last turn left open (stored on the conversation) and the
learner's orders, and sends the reading to Rasa as metadata, where
rasa_addons/option_guard.py applies it to the intent. The actions, inside a form, ask the
same questions of a message (is it phrased as a question? does it keep the language?) and
call the same functions. So the module sits below both the hub and the actions and imports
neither: only the course platform's interface and matcher, and kb_index's language detection.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from course_platform import Order
from course_platform.course_match import named_orders, only_a_course
from kb_index.lang import detect_lang
from reading.needs import needs
from reading.values import shaped_like, value_intent

HUMAN_PAYLOAD = "/request_human"
# longer than any course title we have seen, in either language: a longer message is no
# course name on its own, so the platform is not asked for the learner's orders
COURSE_NAME_CHARS = 40

# ---- what each form question expects ----------------------------------------------------

# slots whose answer is a value, never a sentence about something else
VALUE_SLOTS = frozenset(
    {
        "order_id",
        "complaint_category",
        "invoice_type",
        "invoice_title",
        "tax_id",
        "email",
        "account_field",
        "account_value",
        "privacy_type",
        "privacy_identity",
        "flow_confirmed",
        "piracy_link",
    }
)
# slots answered by picking one of a few options: typed, the answer is the learner's words,
# not a name, an address or an id, so it switches the language like any message
CHOICE_SLOTS = frozenset(
    {"flow_confirmed", "invoice_type", "complaint_category", "account_field", "privacy_type"}
)
# (form, slot) -> the flow's own intent, for questions whose typed answer the NLU may read as
# a way out: why a refund ("不需要了" is `deny`); what a complaint is about ("没用"); whom an
# invoice is for ("for a company" reads as request_human, 0.46; "company" alone too, 0.66)
FREE_TEXT_QUESTIONS = {
    ("refund_form", "refund_reason"): "refund_request",
    ("complaint_form", "complaint_category"): "complaint",
    ("complaint_form", "complaint_description"): "complaint",
    ("invoice_form", "invoice_type"): "invoice_request",
}
# the order questions: a course named there ("Business English" reads as request_human,
# 0.46) is the order, when it names one of the learner's orders
ORDER_QUESTIONS = {
    ("refund_form", "order_id"): "refund_request",
    ("invoice_form", "order_id"): "invoice_request",
}

# ---- what the words say --------------------------------------------------------------------

# A request for a person. "personal" (an invoice's type) is not a person.
_ASKS_FOR_HUMAN = re.compile(r"人工|真人|客服|human|agent|person(?!al)|representative", re.I)
# What leaves a form even where an answer is expected: an explicit stop, or a bare "no" (the
# refund's amount is confirmed after the reason, so a "no"-sounding reason taken as one is
# caught there).
_STOP = re.compile(
    r"算了|取消|不退了|不退款了|不用退|不投诉了|先不|不办了|不弄了|没事了|"
    r"\bcancel|never\s*mind|forget (about )?it|\bstop\b|don'?t (want a )?refund|"
    r"^\s*(no|nope|no thanks|不|不了|不要|不用|不用了)\s*[.!。！~]*\s*$",
    re.IGNORECASE,
)
# How a message asks *about* something rather than *for* it ("能开专票吗", "can I get a
# paper invoice?" against "我要开发票", "I want a refund"): a question mark, a Chinese
# question particle or question word, or an English question word first.
_QUESTION_MARKERS = re.compile(
    r"[吗呢？?]|什么|怎么|怎样|为什么|为啥|能不能|可不可以|是不是|是否|如何|多久|多少|哪|几"
)
_EN_QUESTION_START = re.compile(
    r"^\s*(can|could|do|does|did|is|are|will|would|how|what|when|where|which|why|may|should)\b"
)
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def wants_person(text: str) -> bool:
    """Whether the message (or a button's payload) asks for a person."""
    return text.strip() == HUMAN_PAYLOAD or bool(_ASKS_FOR_HUMAN.search(text))


def asks_about(text: str) -> bool:
    """Whether `text` is phrased as a question."""
    text = text.strip().lower()
    return bool(_QUESTION_MARKERS.search(text) or _EN_QUESTION_START.match(text))


# A yes typed at a final confirmation ("yes, delete it", "确认注销"): the words that follow the
# yes may sound like a way out to the NLU ("delete it" read as `deny`, 0.68), and the form
# then ended on the learner's yes. Only a yes that starts the message and no negation.
_YES_FIRST = re.compile(
    r"^\s*(yes|yeah|yep|sure|ok|okay|confirm(ed)?|go ahead|确认|确定|是的|好的|可以|没问题)"
    r"(?![a-z])",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(no|not|don'?t|never|wait|but)\b|不|别|没有|算了|取消|等等|再想", re.IGNORECASE
)
# the questions whose answer is a yes or a no before something final is recorded
CONFIRMATIONS = {("privacy_form", "flow_confirmed"), ("refund_form", "flow_confirmed")}


def says_yes(text: str) -> bool:
    """A plain yes first, and nothing that takes it back ("yes, delete it", "确认，删除吧")."""
    return bool(_YES_FIRST.search(text)) and not _NEGATION.search(text) and not says_stop(text)


def says_stop(text: str) -> bool:
    """Whether the message says to leave the form ("算了", "cancel", a bare "no")."""
    return bool(_STOP.search(text))


def _key(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def typed_option(buttons: Sequence[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The offered button whose title the learner typed (case, width, spaces and
    punctuation aside): typing "personal" at "Personal / Company" is tapping it, so it is
    not read as a request for a person."""
    key = _key(text)
    if not key:
        return None
    return next((b for b in buttons if _key(str(b.get("title", ""))) == key), None)


def answer_intent(
    asking: tuple[str, str] | None, text: str, names_an_order: bool = False
) -> str | None:
    """The intent to read `text` as if it sounds like "no", given the question the bot is
    asking (its form and slot) and whether the text names one of the learner's orders;
    None to leave the NLU's reading alone."""
    intent = FREE_TEXT_QUESTIONS.get(asking) if asking else None
    if intent is None and names_an_order and asking:
        intent = ORDER_QUESTIONS.get(asking)
    if intent is None or says_stop(text):
        return None
    return intent


def is_value(slot: str | None, text: str) -> bool:
    """Is `text` the value `slot` asks for by its shape, and no question, stop or request
    for a person (`reading.values`)?"""
    if asks_about(text) or says_stop(text) or wants_person(text):
        return False
    return shaped_like(slot, text)


def value_answer(asking: tuple[str, str] | None, text: str) -> str | None:
    """The flow's intent for a value of the right shape typed at its question (`is_value`),
    else None."""
    if not asking or not is_value(asking[1], text):
        return None
    return value_intent(asking, text)


def answers_a_value(slot: str | None, text: str, option: bool) -> bool:
    """Is the message a form's value (a name, an address, an id, a tapped option), rather
    than a question typed where the value goes or a choice typed out in words?"""
    if slot not in VALUE_SLOTS:
        return False
    if slot in CHOICE_SLOTS and not option:
        return False
    return option or not asks_about(text)


def language(text: str, current: str | None, slot: str | None = None, option: bool = False) -> str:
    """The conversation's language after this message: `current` for a form's value (a
    company called "Acme Tech Ltd" in a Chinese chat), else what the text says, with
    `current` for text that says nothing ("ok", an order id)."""
    current = current if current in ("zh", "en") else None
    if current and answers_a_value(slot, text, option):
        return current
    return detect_lang(text, default=current or "zh")


# ---- the entry point ----------------------------------------------------------------------


class Reading:
    """What the hub knows of one learner message beyond its words (module doc). Readings
    that need the learner's orders are made only when asked for (`metadata`), after the
    message is stored: a course platform's trouble must not hold the message back."""

    def __init__(
        self,
        text: str,
        lang: str,
        payload: str | None,
        asking: tuple[str, str] | None,
        orders: Callable[[], list[Order]],
    ) -> None:
        self.text = text
        self.lang = lang
        self.payload = payload  # the tapped button's payload, or the typed button's
        self.asking = asking
        self._orders = orders

    @property
    def routed_text(self) -> str:
        """What goes to the dialogue: the button's payload, else the text."""
        return self.payload or self.text

    @property
    def option(self) -> bool:
        """A tapped option: a plain value (not an "/intent" payload), the form's answer."""
        return bool(self.payload) and not str(self.payload).startswith("/")

    @property
    def wants_person(self) -> bool:
        return wants_person(self.routed_text)

    @property
    def needs_orders(self) -> bool:
        """Whether `metadata` will ask the course platform for the learner's orders (a
        remote call: the hub makes it off its event loop)."""
        if self.option or self.wants_person or "hints" in self.__dict__:
            return False
        alone = self.asking is None and len(self.text.strip()) <= COURSE_NAME_CHARS
        return alone or self.asking in ORDER_QUESTIONS

    @cached_property
    def hints(self) -> dict[str, Any]:
        """`read_as: affirm` for a plain yes at a final confirmation (`says_yes`);
        `answer_intent` when the text answers the open question though it sounds like a
        way out; `value_intent` when it is a value of the shape the question asks for;
        `read_as: ask_question` when it is nothing but one of the learner's course names and
        no form asks anything; else, where no form asks anything, the needs it names
        (`tech_problem`, `complain`)."""
        if self.option or self.wants_person:
            return {}
        text = self.text
        # the platform is asked only when the answer may change the reading: a course's
        # name on its own is short, and most messages outside a form are not
        orders = self._orders() if self.needs_orders else []
        named = bool(named_orders(orders, text))
        if self.asking in CONFIRMATIONS and says_yes(text):
            return {"read_as": "affirm"}
        answer = answer_intent(self.asking, text, names_an_order=named)
        if answer:
            return {"answer_intent": answer}
        if value := value_answer(self.asking, text):
            return {"value_intent": value}
        if self.asking is None and named and only_a_course(orders, text):
            return {"read_as": "ask_question"}
        return needs(text) if self.asking is None else {}

    def metadata(self) -> dict[str, Any]:
        """The reading as Rasa's message metadata (rasa_addons/option_guard.py applies it)."""
        return {"lang": self.lang, "option": self.option, **self.hints}


def read(
    text: str,
    *,
    conv_lang: str,
    payload: str | None = None,
    buttons: Sequence[dict[str, Any]] = (),
    asking: tuple[str, str] | None = None,
    orders: Callable[[], list[Order]] = list,
) -> Reading:
    """Read a learner message: `payload` is a tapped button's, `buttons` those the bot's
    latest message offered, `asking` the form question left open, `orders` fetches the
    learner's orders (called only when a reading needs them; it should return [] on
    trouble)."""
    if payload is None:  # a button's title typed out is that button
        button = typed_option(buttons, text)
        payload = str(button["payload"]) if button and button.get("payload") else None
    option = bool(payload) and not str(payload).startswith("/")
    lang = language(text, conv_lang, slot=asking[1] if asking else None, option=option)
    return Reading(text, lang, payload, asking, orders)
