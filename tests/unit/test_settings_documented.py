"""Every setting is listed in .env.example, and nothing there is stale; docs/configuration.md
explains each one."""

import re

from bot.settings import ROOT, Settings
from kb_index.config import KBConfig


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^(AFTERCLASS_[A-Z0-9_]+)=", text, re.M))


def test_env_example_lists_every_setting():
    hub = {f"AFTERCLASS_{name.upper()}" for name in Settings.model_fields if name != "kb"}
    kb = {f"AFTERCLASS_KB_{name.upper()}" for name in KBConfig.model_fields}
    assert documented() == hub | kb


def test_the_configuration_page_explains_every_setting():
    page = (ROOT / "docs" / "configuration.md").read_text("utf-8")
    missing = sorted(name for name in documented() if f"`{name}`" not in page)
    assert not missing, f"settings missing from docs/configuration.md: {missing}"
