"""What the actions say: the bilingual catalogue in actions/copy.yml, and button helpers.

Static replies used by rules and stories live in domain.yml; text the actions build at run
time lives in copy.yml, so every sentence has exactly one home and translators edit YAML.
"""

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

COPY = Path(__file__).with_name("copy.yml")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    return yaml.safe_load(COPY.read_text(encoding="utf-8"))


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
