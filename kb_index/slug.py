"""A readable id for a new entry, taken from its question.

Ids are permanent and show in learners' /help/<id> links, so a Chinese question gets its
content words in toneless pinyin ("会员能不能共享给家人" -> zh-huiyuan-gongxiang-jiaren)
instead of a numbered "zh-question". Without pypinyin (an optional nicety, not worth failing
over) only the latin words count, as before.
"""

import re
import unicodedata

MAX_LEN = 60  # the base id, before a "-2" that keeps it unique
EN_WORDS = 8  # an English question keeps its words as typed (en-how-do-i-pay-with-bitcoin)
CJK_WORDS = 4  # pinyin runs long: a few content words name the topic
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z0-9]+")
# jieba words that only make a sentence a question or a request; they would fill every id
# with "nengbuneng" and "zenme". Dropped only while something else is left.
_ZH_FILLER = frozenset(
    "请问 问一下 想问 你好 您好 我 我的 我们 你 你们 您 他 她 它"
    " 的 地 得 了 着 过 吗 呢 吧 啊 呀 嘛 么 哦 哈 能 不能"
    " 能不能 能否 可以 可不可以 是否 是不是 有没有 有 是 会 要 想"
    " 想要 需要 应该 该 怎么 怎么办 怎样 怎么样 如何 为什么 为啥"
    " 什么 啥 哪里 哪儿 在哪 在哪里 哪个 给 在 把 被 和 跟 与"
    " 还 就 都 也 一下 这个 那个 这 那 能用 可 用".split()
)
# the same for the latin words of a mixed question ("how do I 开发票")
_EN_FILLER = frozenset(
    "a an the is are am was were be do does did i me my we you your it to of in on for at by"
    " with and or can could would should will please how what why where when which".split()
)


def _latin_slug(question: str) -> list[str]:
    return _LATIN.findall(question.lower())[:EN_WORDS]


def _pinyin_words(question: str) -> list[str] | None:
    """Content words of a Chinese (or mixed) question, Chinese ones in pinyin; None without
    pypinyin. Runs of one-character jieba words are joined first, as gaps._topic_terms does,
    so a word jieba does not know (花呗 -> 花 / 呗) stays one word (huabei); jieba's HMM is
    off, since its guesses join such a word to the one before (用花 / 呗)."""
    try:
        from pypinyin import Style, lazy_pinyin
    except ImportError:
        return None
    from kb_index.lexical import _jieba

    words: list[tuple[str, bool]] = []  # (word, filler)
    singles = ""
    # without HMM: jieba's guesses at unknown words glue a verb to one: 用花呗 -> 用花 / 呗
    for tok in [*_jieba().lcut(question.lower(), HMM=False), " "]:
        if _CJK.search(tok) and len(tok) == 1 and tok not in _ZH_FILLER:
            singles += tok
            continue
        if singles:
            words.append((singles, False))
            singles = ""
        if _CJK.search(tok):
            words.append((tok, tok in _ZH_FILLER))
        else:
            words += [(w, w in _EN_FILLER) for w in _LATIN.findall(tok)]
    kept = [w for w, filler in words if not filler] or [w for w, _ in words]
    out = []
    for w in kept:
        if _CJK.search(w):
            w = "".join(lazy_pinyin(w, style=Style.NORMAL, errors="ignore"))
        if w := "".join(_LATIN.findall(w)):  # pinyin of a rare character can be empty
            out.append(w)
    return out[:CJK_WORDS]


def suggest_base(lang: str, question: str) -> str:
    """<lang>-<words> for a question, not yet checked against the store; "<lang>-question"
    when nothing readable is left."""
    question = unicodedata.normalize("NFKC", question)  # full-width ＶＩＰ is VIP
    words = _pinyin_words(question) if _CJK.search(question) else None
    if words is None:
        words = _latin_slug(question)
    if not words:
        return f"{lang}-question"
    return f"{lang}-{'-'.join(words)}"[:MAX_LEN].rstrip("-")
