"""OptionGuard (rasa_addons/option_guard.py) must shield exactly the intents that some form
slot refuses: the lists live in config.yml and domain.yml and must not drift apart."""

import yaml

from bot.settings import ROOT


def test_option_guard_escapes_are_the_intents_form_slots_refuse():
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    guard = next(c for c in config["pipeline"] if c["name"].endswith("OptionGuard"))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    refused = {
        intent
        for slot in domain["slots"].values()
        for mapping in slot.get("mappings", [])
        if mapping.get("type") == "from_text"
        for intent in mapping.get("not_intent", [])
    }
    assert refused == set(guard["escapes"])
