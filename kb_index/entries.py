"""The KB entry: what content staff write and what the index serves."""

from typing import Literal

from pydantic import BaseModel, Field

Lang = Literal["zh", "en"]
Status = Literal["draft", "published", "archived"]


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
