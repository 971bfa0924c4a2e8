"""The bot's copy: every sentence in both languages with the same placeholders."""

import re
import string

import yaml

from bot.settings import ROOT
from replies import catalogue, choices


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders():
    for key, texts in catalogue().items():
        assert set(texts) == {"en", "zh"}, key
        assert placeholders(texts["en"]) == placeholders(texts["zh"]), key
        assert re.search(r"[\u4e00-\u9fff]", texts["zh"]) or key.startswith("order_button"), key


def test_no_key_is_written_twice():
    # YAML keeps the last of two equal keys without a word; one such pair made a button read
    # differently from the sentence that named it
    text = (ROOT / "replies" / "catalogue.yml").read_text("utf-8")
    keys = re.findall(r"^([a-z_0-9]+):", text, re.M)
    assert len(keys) == len(set(keys)), sorted({k for k in keys if keys.count(k) > 1})


def test_choice_lists_line_up():
    for key, texts in catalogue().items():
        if "|" in texts["en"]:
            assert texts["en"].count("|") == texts["zh"].count("|"), key
    assert [b["payload"] for b in choices("invoice_types", "zh", ["personal", "company"])] == [
        "personal",
        "company",
    ]


def test_domain_responses_have_a_chinese_variation():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variations in domain["responses"].items():
        conditions = [v.get("condition") for v in variations]
        assert any(c and c[0]["value"] == "zh" for c in conditions), name
        assert any(c is None for c in conditions), name  # the default (English) variation
