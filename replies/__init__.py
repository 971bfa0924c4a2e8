"""The reply catalogue: every sentence AfterClass builds at run time, in zh and en
(`catalogue.yml`), and button helpers.

Both the Rasa actions and the hub's own notices (queue, agent joined, assistant down) say
things, so the catalogue sits below both and imports nothing of the project. Static replies
used by rules and stories live in domain.yml; text built at run time lives here, so every
sentence has exactly one home and translators edit YAML.
"""

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE = Path(__file__).with_name("catalogue.yml")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def t(key: str, lang: str, **values: Any) -> str:
    return catalogue()[key]["zh" if lang == "zh" else "en"].format(**values)


def choices(key: str, lang: str, codes: list[str] | None = None) -> list[dict[str, str]]:
    """Buttons from a "a|b|c" catalogue entry. With `codes`, each button sends its
    language-neutral code (what validators expect); otherwise it sends its own label."""
    labels = t(key, lang).split("|")
    payloads = codes or labels
    return [{"title": label, "payload": code} for label, code in zip(labels, payloads, strict=True)]


def button(key: str, lang: str, payload: str) -> dict[str, str]:
    return {"title": t(key, lang), "payload": payload}


def kb_pick(entry_id: str) -> str:
    """The payload of a button that answers one specific KB entry (the KB action reads it)."""
    return "/ask_question" + json.dumps({"kb_entry": entry_id})
