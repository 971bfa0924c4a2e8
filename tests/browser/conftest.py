"""Playwright for Python driving Debian's chromium (never a downloaded browser)."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The pages run against the SQLite stack only (the one the end-to-end suite starts
    first): what they show does not depend on the engine, which the API and end-to-end
    suites cover on both."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_pg = params.get("stack") == "postgresql"
        (drop if on_pg and HERE in Path(item.path).parents else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # a bot turn waits on Rasa; on 2 busy cores one took longer than Playwright's default 5 s
    # and failed a page test that was otherwise right
    expect.set_options(timeout=20_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path_factory):
    """Where screenshots go (kept per session for a human to look at after a failure)."""
    return tmp_path_factory.mktemp("screens")
