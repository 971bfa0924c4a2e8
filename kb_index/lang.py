"""Per-message language detection: zh when CJK characters carry the text, else en; and the
fold of traditional Chinese characters to simplified that search applies to both sides."""

import re
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# what says nothing about language: order ids, numbers, emails, links, button codes
_NEUTRAL = re.compile(r"https?://\S+|\S+@\S+|\b\w*\d\w*\b")
_WORD = re.compile(r"[A-Za-z]{2,}")
# a button's payload sent as the text ("/deny", '/certificate_request{"course": "c-py101"}')
_COMMAND = re.compile(r"/[A-Za-z_][\w-]*(\{.*\})?", re.DOTALL)
# Words that only an English sentence carries. A Chinese learner answers "which device?" with
# "iPhone app" or "Chrome"; product names alone must not switch the conversation to English.
_ENGLISH_MARKERS = frozenset(
    "i i'm im my me you your we the a an is are was am it it's its this that there can can't "
    "cant cannot could would will won't don't dont doesn't didn't do does did not no yes how "
    "what why when where who which to for of in on at with and but or from please pls plz hi "
    "hello hey thanks thank thx sorry help want need get got have has still just".split()
)
_LATIN_TOKEN = re.compile(r"[A-Za-z][A-Za-z']*")


def detect_lang(text: str, default: str = "en") -> str:
    """Return "zh" or "en".

    Code-mixed chat ("refund 怎么弄") counts as Chinese: two CJK characters among English
    words almost always mean a Chinese speaker using English product words. Text without
    real words (an order id, an email, "ok") or a button's "/intent" payload keeps the
    conversation's language. In a Chinese conversation, English words switch it to English
    only when they read as English: a function or chat word ("my", "please", "hello") or
    three words or more; "iPhone app" alone keeps Chinese.
    """
    if _COMMAND.fullmatch(text.strip()):
        return default
    cjk = len(_CJK.findall(text))
    words = _WORD.findall(_NEUTRAL.sub(" ", text))
    if cjk >= 2 or (cjk == 1 and not words):
        return "zh"
    if sum(len(w) for w in words) < 4:
        return default
    if default == "en":
        return "en"
    tokens = [t.lower() for t in _LATIN_TOKEN.findall(_NEUTRAL.sub(" ", text))]
    if len(words) >= 3 or any(t in _ENGLISH_MARKERS for t in tokens):
        return "en"
    return default


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    from opencc import OpenCC  # opencc-python-reimplemented: pure Python, Apache-2.0

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters as simplified ones ("一個帳號" -> "一个帐号"); other text as is.

    Learners from Hong Kong or Taiwan write traditional characters, the KB is written in
    simplified (or the other way round): neither the character n-grams nor e5 match across
    the two, so the KB fell back on questions it answers when typed in simplified. Search
    folds entries and queries alike; what is shown keeps the writer's characters."""
    if not _CJK.search(text):
        return text
    return _t2s().convert(text)
