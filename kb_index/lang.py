"""Per-message language detection: zh when CJK characters carry the text, else en."""

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# what says nothing about language: order ids, numbers, emails, links, button codes
_NEUTRAL = re.compile(r"https?://\S+|\S+@\S+|\b\w*\d\w*\b")
_WORD = re.compile(r"[A-Za-z]{2,}")
# a button's payload sent as the text ("/deny", '/certificate_request{"course": "c-py101"}')
_COMMAND = re.compile(r"/[A-Za-z_][\w-]*(\{.*\})?", re.DOTALL)


def detect_lang(text: str, default: str = "en") -> str:
    """Return "zh" or "en".

    Code-mixed chat ("refund 怎么弄") counts as Chinese: two CJK characters among English
    words almost always mean a Chinese speaker using English product words. Text without
    real words (an order id, an email, "ok") or a button's "/intent" payload keeps the
    conversation's language.
    """
    if _COMMAND.fullmatch(text.strip()):
        return default
    cjk = len(_CJK.findall(text))
    words = _WORD.findall(_NEUTRAL.sub(" ", text))
    if cjk >= 2 or (cjk == 1 and not words):
        return "zh"
    if sum(len(w) for w in words) >= 4:
        return "en"
    return default
