"""Per-message language detection: zh when CJK characters carry the text, else en."""

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]+")


def detect_lang(text: str, default: str = "en") -> str:
    """Return "zh" or "en". Code-mixed chat ("refund 怎么弄") counts as Chinese.

    A learner who writes even two Chinese characters among English words is almost
    always a Chinese speaker using English product words, so CJK wins early.
    """
    cjk = len(_CJK.findall(text))
    if cjk >= 2 or (cjk == 1 and not _LATIN.search(text)):
        return "zh"
    if _LATIN.search(text):
        return "en"
    return default
