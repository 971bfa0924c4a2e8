"""The KB entry: what content staff write and what the index serves."""

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

Lang = Literal["zh", "en"]
Status = Literal["draft", "published", "archived"]
SLUG = r"^[a-z]{2}-[a-z0-9][a-z0-9-]{1,80}$"
# what a draft made from unanswered questions holds until someone writes the answer
PLACEHOLDER_ANSWER = "(draft)"


def question_key(question: str) -> str:
    """What makes two questions the same to a learner: width, case, spaces and punctuation
    do not count ("会员可以和家人共享吗？" and "会员可以和家人共享吗?" are one question)."""
    return "".join(c for c in unicodedata.normalize("NFKC", question).casefold() if c.isalnum())


# Words that ask nothing: greetings, politeness, sentence particles ("请问字幕在哪里打开呢？"
# asks what "字幕在哪打开" asks). 哪里 / 哪儿 are 哪.
_FILLERS_ZH = re.compile(
    r"请问一下|请问|你好|您好|哈喽|麻烦(你|您)?|劳驾|想问一下|想问|问一下|我想知道|一下|"
    r"[吗呢吧呀啊哦嘛啦么]+(?=$|[^\w]|[a-z0-9])|[吗呢吧呀啊哦嘛啦么]+$"
)
_WHERE_ZH = re.compile(r"哪里|哪儿")
_FILLERS_EN = re.compile(
    r"\b(please|pls|plz|kindly|hi|hello|hey|thanks|thank you|thx|um+|uh+|so|just|ok|okay|"
    r"the|a|an)\b"
)


def match_key(question: str) -> str:
    """`question_key` without the words that ask nothing (greetings, "please", particles such
    as 吗 / 呢, articles) and with traditional characters read as simplified: a learner's
    message with the same key as one of an entry's questions asks exactly that question."""
    from kb_index.lang import to_simplified

    text = to_simplified(unicodedata.normalize("NFKC", question).casefold())
    text = _WHERE_ZH.sub("哪", text)
    text = _FILLERS_ZH.sub(" ", text)
    text = _FILLERS_EN.sub(" ", text)
    return "".join(c for c in text if c.isalnum())


class Entry(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    lang: Lang
    question: str = Field(min_length=1, max_length=500)
    alt_questions: list[str] = Field(default_factory=list)
    answer: str = ""
    category: str = "general"
    tags: list[str] = Field(default_factory=list)
    status: Status = "published"
    translation: str | None = None
    version: int = 0

    def questions(self) -> list[str]:
        """The canonical question first, then the non-empty alternates."""
        return [self.question, *(q for q in self.alt_questions if q.strip())]


def _slug_error(value: str) -> str:
    return (
        f"id {value!r}: lowercase <lang>-<words>, letters, digits and '-' only, "
        "e.g. en-refund-policy · "
        "ID 须为小写「语言-英文短词」，只含字母、数字和连字符，如 zh-refund-policy"
    )


class EntryIn(BaseModel):
    """An entry as an editor or an import file gives it: the one set of rules for both
    (the editor's form and every imported row), so an import cannot store what the editor
    would refuse, such as an id no URL can address."""

    id: str = Field(description="<lang>-<slug>, e.g. en-refund-policy")
    lang: Lang
    question: str = Field(min_length=2, max_length=500)
    alt_questions: list[str] = Field(default_factory=list, max_length=50)
    answer: str = Field(min_length=1, max_length=20_000)
    category: str = Field(default="general", max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20)
    translation: str | None = None
    # None: keep the stored status on an edit; a new entry or an import row becomes a draft
    status: Status | None = None

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, v: str) -> str:
        if not re.match(SLUG, v):
            raise ValueError(_slug_error(v))
        return v

    @field_validator("translation")
    @classmethod
    def _translation_is_a_slug(cls, v: str | None) -> str | None:
        if v and not re.match(SLUG, v):
            raise ValueError(_slug_error(v))
        return v or None

    @field_validator("question", "answer")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank · 不能为空")
        return v

    @model_validator(mode="after")
    def _id_names_its_language(self) -> "EntryIn":
        if not self.id.startswith(self.lang + "-"):
            raise ValueError(
                f"the id of a {self.lang} entry starts with '{self.lang}-' · "
                f"{self.lang} 条目的 ID 须以 '{self.lang}-' 开头"
            )
        return self

    def to_entry(self, status: str) -> Entry:
        return Entry(**{**self.model_dump(include=set(Entry.model_fields)), "status": status})


def unpublishable(entry: Entry) -> str | None:
    """Why this entry may not go live (None if it may): learners must never get a blank or
    placeholder answer."""
    if not entry.answer.strip() or entry.answer.strip() == PLACEHOLDER_ANSWER:
        return (
            "write the answer before publishing: it is empty or still the draft placeholder · "
            "答案为空或仍是草稿占位文字，请先写好答案再发布"
        )
    return None
