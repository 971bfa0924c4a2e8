"""tests/fixtures/nlu_heldout.yml (bench/nlu_heldout.py's messages) is well formed and still
held out: every intent of domain.yml, 12 zh + 12 en each, dev and test 6 + 6, and no message
that is also a training example (this is the only place that reads data/nlu for it)."""

import re
import unicodedata
from collections import Counter

import yaml

from bot.settings import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "nlu_heldout.yml"
# [text](entity), [text]{"entity": ...}, [text][synonym]: the text is what Rasa trains on
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


def rows() -> list[dict]:
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["messages"]


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


def test_rows_have_exactly_the_documented_fields():
    for row in rows():
        assert set(row) == {"text", "intent", "lang", "split"}, row
        assert row["lang"] in ("zh", "en") and row["split"] in ("dev", "test"), row
        assert isinstance(row["text"], str) and row["text"] == " ".join(row["text"].split())


def test_every_intent_twelve_per_language_six_per_split():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    data = rows()
    assert {r["intent"] for r in data} == intents
    per_split = Counter((r["intent"], r["lang"], r["split"]) for r in data)
    assert set(per_split.values()) == {6} and len(per_split) == len(intents) * 4, [
        k for k, n in per_split.items() if n != 6
    ]


def test_no_message_repeats_itself_or_a_training_example():
    data = rows()
    keys = Counter(key(r["text"]) for r in data)
    assert not [k for k, n in keys.items() if n > 1]
    seen = training_texts()
    assert len(seen) > 1000  # the parser found the training data
    clashes = [r["text"] for r in data if key(r["text"]) in seen]
    assert not clashes, "also in data/nlu, replace them:\n" + "\n".join(clashes)
