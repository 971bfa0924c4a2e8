"""What the bot does with search hits: answer, clarify (offer choices), or fall back.

Scores are self-calibrated per KB (see search.py): the KB's own near-miss questions score
below the gate (0.54) in the share its operating point asks for (`target_oos_fallback`,
0.85 by default: the out-of-scope fallback rate it is calibrated to). So one threshold set
fits every KB and both languages; the margin was chosen on the kbeval dev sets plus
out-of-scope mixes made from them (bench/kb_eval_dev.py), see kb_index/README.md.

A message that asks one of an entry's own questions, up to fillers, punctuation and width
("字幕在哪里打开？" for "字幕在哪打开"), is answered whatever it scores (`Hit.exact`).
"""

from dataclasses import dataclass, field
from typing import Literal

from kb_index.entries import question_key
from kb_index.search import GATE, Hit

Kind = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Thresholds:
    answer: float = GATE  # top score at or above which the top hit is answered outright...
    margin: float = 0.02  # ...provided it beats the runner-up by this much, else clarify
    clarify: float = GATE  # below this nothing is offered: fall back (the out-of-scope gate)
    clarify_max: int = 3
    # the bot's fallback ladder: on a first miss it still suggests hits scoring at least this
    # ("did you mean…?"); not part of the answer decision, so evaluation is unaffected
    suggest: float = 0.40


@dataclass
class Decision:
    kind: Kind
    hits: list[Hit] = field(default_factory=list)

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def brief(self) -> dict:
        return {"kind": self.kind, "hits": [h.brief() for h in self.hits]}


def _choices(hits: list[Hit], n: int) -> list[Hit]:
    """The first n hits with distinct titles: the learner picks by title, and two entries
    asking the same question (a duplicate published by mistake) would show as two identical
    buttons. The better-scored one stays."""
    seen: set[str] = set()
    out = []
    for h in hits:
        key = question_key(h.entry.question) or h.entry.id
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out[:n]


def decide(hits: list[Hit], t: Thresholds) -> Decision:
    if hits and hits[0].exact:  # asked by its own question (search puts it first)
        return Decision("answer", hits[:1])
    if not hits or hits[0].score < t.clarify:
        return Decision("fallback", _choices(hits, t.clarify_max))
    top = hits[0].score
    runner_up = hits[1].score if len(hits) > 1 else float("-inf")
    if top >= t.answer and top - runner_up >= t.margin:
        return Decision("answer", hits[:1])
    return Decision("clarify", _choices([h for h in hits if h.score >= t.clarify], t.clarify_max))
