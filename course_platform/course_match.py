"""Which of a learner's orders a message names: "the python course", "数据分析那门课", "退年度会员".

Learners rarely type a course's full title, so a title matches on a distinctive part of it:
an English word it shares with the message ("python"), or a run of two or more Chinese
characters it shares ("数据分析"). Two characters alone must begin one of the title's words
("英语" of 英语口语, "数据" of 数据分析), not straddle two: "学到一半" shares "到一" with
数据分析从零到一 (零到 / 一) and named that course. Words that several titles share, or that
learners use in another sense, count for nothing on their own ("course", "live", "直播", and
"个人" / "personal", as in a personal invoice), so they never pick an order by themselves.
The longer the shared part, the better the match.
"""

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from course_platform import Course, Order
from kb_index.lang import to_simplified

T = TypeVar("T")

_WORD = re.compile(r"[a-z0-9]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")

# Shared by many titles, or used by learners in another sense ("zero progress", "someone
# sells your course", a personal invoice, playback on a mobile).
_COMMON_EN = frozenset(
    "a an and the for from in of on to my that zero 21 live course class lesson lessons "
    "life everyday essentials beginners masterclass sells personal business mobile".split()
)
_COMMON_ZH = frozenset(
    "课程 直播 直播课 入门 实战 进阶 必修 必修课 职场 个人 手机 生活 训练 训练营".split()
)


def _common_zh(piece: str) -> bool:
    """A common word or a part of one ("播课" of "直播课")."""
    return any(piece in word for word in _COMMON_ZH)


@lru_cache(maxsize=4096)
def _word_starts(part: str) -> frozenset[str]:
    """The two-character beginnings of a title's words (jieba), the only two-character
    pieces that name it."""
    from kb_index.lexical import words  # imported here: jieba is only needed for Chinese

    return frozenset(w[:2] for w in words(part) if len(w) >= 2)


def _titles(course_id: str, course: Course | None) -> list[str]:
    titles = [course_id]
    if course:
        titles += [course.name_zh, course.name_en]
    return [to_simplified(t).lower() for t in titles]


def _word_score(titles: list[str], text: str) -> int:
    said = set(_WORD.findall(text))
    words = {w for title in titles for w in _WORD.findall(title)}
    return sum(
        len(w) for w in words & said if len(w) > 1 and w not in _COMMON_EN and not w.isdigit()
    )


def _han_score(titles: list[str], text: str) -> int:
    """Length of the longest distinctive run of Chinese characters the text shares with a title."""
    best = 0
    for run in _HAN.findall(text):
        for title in titles:
            for part in _HAN.findall(title):
                for i in range(len(run)):
                    # longest shared run starting at run[i], no longer than the title part
                    for j in range(min(len(run), i + len(part)), i + 1, -1):
                        piece = run[i:j]
                        if j - i == 2 and piece not in _word_starts(part):
                            continue
                        if j - i > best and piece in part and not _common_zh(piece):
                            best = j - i
                            break
    return best


def _score(titles: list[str], text: str) -> int:
    return max(_word_score(titles, text), _han_score(titles, text))


def _best(items: list[T], text: str | None, titles: Callable[[T], list[str]]) -> list[T]:
    # "手機攝影" names 手机摄影21讲: traditional characters are read as simplified, as the NLU
    # and the KB read them
    text = to_simplified(text or "").lower()
    if not text.strip():
        return []
    scores = [_score(titles(item), text) for item in items]
    top = max(scores, default=0)
    return [item for item, s in zip(items, scores, strict=True) if top and s == top]


def named_orders(orders: list[Order], text: str | None) -> list[Order]:
    """The orders whose course the text names best (ties all kept, in the given order);
    empty if it names none."""
    return _best(orders, text, lambda o: _titles(o.course_id, o.course))


def named_courses(courses: list[Course], text: str | None) -> list[Course]:
    """The same over a catalogue: which course the learner is talking about, bought or not."""
    return _best(courses, text, lambda c: _titles(c.id, c))


_NOT_TEXT = re.compile(r"[\W_]+")


def only_a_course(orders: list[Order], text: str) -> Order | None:
    """The order of a message that is nothing but (part of) the name of one of the learner's
    courses ("Python for Beginners", "数据分析"): the KB's first miss asks the learner to
    name the course or order, and the name alone then missed again."""
    said = _NOT_TEXT.sub("", to_simplified(text).lower())
    named = named_orders(orders, text) if said and not text.startswith("/") else []
    if len({o.course_id for o in named}) != 1:
        return None
    order = named[0]
    titles = [order.course_id] + (
        [order.course.name_zh, order.course.name_en] if order.course else []
    )
    return (
        order if any(said in _NOT_TEXT.sub("", to_simplified(t).lower()) for t in titles) else None
    )
