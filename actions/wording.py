"""How the actions word things and read short answers: dates in the learner's language,
masked contact details, and which option a typed answer names ("个人", "company", "确认")."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker

from actions.context import latest_intent

TZ = ZoneInfo("Asia/Shanghai")


def date(ts: float | None, lang: str) -> str:
    if ts is None:
        return "—"
    d = datetime.fromtimestamp(ts, TZ)
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.strftime("%-d %b %Y")


def says(text: str, word: str) -> bool:
    """Whether lower-cased `text` contains `word`; an English word only at the start of a
    word, so "app" is not found in "disappointed" (Chinese has no word boundaries)."""
    if word.isascii():
        return re.search(r"(?<![a-z0-9])" + re.escape(word), text) is not None
    return word in text


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


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else phone


def mask_email(email: str) -> str:
    name, _, host = email.partition("@")
    return (name[:1] + "***@" + host) if host else email
