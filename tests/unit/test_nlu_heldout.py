"""tests/fixtures/nlu_heldout*.yml (bench/nlu_heldout.py's sets) are well formed and still
held out: every intent of domain.yml, as many zh as en messages each and as many dev as test,
the same count for every intent, and no message that is also a training example or in
another set (this is the only place that reads data/nlu for them)."""

import re
import unicodedata
from collections import Counter

import pytest
import yaml

from bot.settings import ROOT

FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("nlu_heldout*.yml"))
# [text](entity), [text]{"entity": ...}, [text][synonym]: the text is what Rasa trains on
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


def rows(fixture) -> list[dict]:  # type: ignore[no-untyped-def]
    return yaml.safe_load(fixture.read_text(encoding="utf-8"))["messages"]


every_set = pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)


def key(text: str) -> str:
    """Case, spaces, punctuation and emoji do not make a message new ("Hi!" is "hi")."""
    return "".join(
        c for c in text.casefold() if unicodedata.category(c)[0] not in "PSZC"
    )


def training_texts() -> set[str]:
    texts = set()
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" not in item:
                continue
            examples = item.get("examples") or ""
            if isinstance(examples, str):
                lines = [ln[2:] for ln in examples.splitlines() if ln.startswith("- ")]
            else:
                lines = [e["text"] for e in examples]
            texts |= {key(ANNOTATION.sub(r"\1", ln)) for ln in lines}
    return texts


@every_set
def test_rows_have_exactly_the_documented_fields(fixture):
    for row in rows(fixture):
        assert set(row) == {"text", "intent", "lang", "split"}, row
        assert row["lang"] in ("zh", "en") and row["split"] in ("dev", "test"), row
        assert isinstance(row["text"], str) and row["text"] == " ".join(row["text"].split())


@every_set
def test_every_intent_equally_per_language_and_split(fixture):
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    data = rows(fixture)
    assert {r["intent"] for r in data} == intents
    per_split = Counter((r["intent"], r["lang"], r["split"]) for r in data)
    usual = Counter(per_split.values()).most_common(1)[0][0]
    assert usual >= 5 and len(per_split) == len(intents) * 4
    assert set(per_split.values()) == {usual}, [k for k, n in per_split.items() if n != usual]


def test_no_message_repeats_itself_or_a_training_example():
    assert FIXTURES
    data = [r for fixture in FIXTURES for r in rows(fixture)]
    keys = Counter(key(r["text"]) for r in data)
    assert not [k for k, n in keys.items() if n > 1]
    seen = training_texts()
    assert len(seen) > 1000  # the parser found the training data
    clashes = [r["text"] for r in data if key(r["text"]) in seen]
    assert not clashes, "also in data/nlu, replace them:\n" + "\n".join(clashes)
