"""What the bot does with search hits: answer, clarify (offer choices), or fall back."""

from dataclasses import dataclass, field
from typing import Literal

from kb_index.search import Hit

Kind = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Thresholds:
    """Chosen with `python -m kb_index eval` on the dev sets; see the README."""

    answer: float = 0.62  # fused score at or above which the top hit is answered outright
    margin: float = 0.03  # ...provided it beats the runner-up by this much
    clarify: float = 0.45  # below answer but at or above this: offer the top entries
    clarify_max: int = 3


@dataclass
class Decision:
    kind: Kind
    hits: list[Hit] = field(default_factory=list)

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def brief(self) -> dict:
        return {"kind": self.kind, "hits": [h.brief() for h in self.hits]}


def decide(hits: list[Hit], t: Thresholds) -> Decision:
    if not hits or hits[0].score < t.clarify:
        return Decision("fallback", hits[: t.clarify_max])
    top = hits[0].score
    runner_up = hits[1].score if len(hits) > 1 else 0.0
    if top >= t.answer and top - runner_up >= t.margin:
        return Decision("answer", hits[:1])
    return Decision("clarify", [h for h in hits[: t.clarify_max] if h.score >= t.clarify])
