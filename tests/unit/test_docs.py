"""The docs stay true to the code: every route is in the API page, every path the README and
docs/ name exists, every command has help text and a page, and `make` lists every target.

Fast and offline: the app is built (never started) to read its routes, the CLI's parser is
captured before it parses anything, and `make` only prints its help.
"""

import argparse
import os
import re
import subprocess
from pathlib import Path
from unittest import mock

import pytest

from bot.settings import ROOT, Settings
from kb_index.config import KBConfig
from tests.conftest import hub_settings

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
API = DOCS / "api.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "WS")
# folders that exist only after a run (state, models, reports of a run), never in a clone
GENERATED = ("var/", "models/", "results/", ".venv/", ".venv-rasa/")


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the hub, as a client calls it: `{entry_id}` for
    `{entry_id:path}`, WS for the WebSocket, HEAD left out (it comes with every GET)."""
    import tempfile

    from fastapi import routing

    from bot.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(hub_settings(Path(tmp)))
        # FastAPI 0.165 keeps included routers as one entry each; this walks into them
        walk = getattr(routing, "iter_route_contexts", lambda routes: routes)
        routes = set()
        for route in walk(app.routes):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            methods = getattr(route, "methods", None) or {"WS"}
            routes |= {(m, path) for m in methods if m != "HEAD"}
    return routes


def test_every_route_of_the_app_is_in_the_api_page():
    text = API.read_text("utf-8")
    missing = [
        f"{m} {p}"
        for m, p in sorted(app_routes(), key=lambda r: (r[1], r[0]))
        if not re.search(re.escape(f"{m} {p}") + r"(?![\w/{-])", text)
    ]
    assert not missing, f"routes missing from docs/api.md: {missing}"


def test_every_route_the_api_page_names_exists():
    routes = app_routes()
    named = re.findall(r"`(" + "|".join(METHODS) + r") (/[^\s`?]*)", API.read_text("utf-8"))
    stale = sorted({f"{m} {p}" for m, p in named if (m, p) not in routes})
    assert not stale, f"docs/api.md names routes the app does not have: {stale}"


def repo_files() -> list[str]:
    out = []
    for folder, dirs, files in os.walk(ROOT):
        rel = Path(folder).relative_to(ROOT).as_posix()
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in ("__pycache__", "var", "models", "results")
            and not d.endswith(".egg-info")
        ]
        out += [f"{rel}/{f}" if rel != "." else f for f in files]
    return out


def _expand(path: str) -> list[str]:
    """`data/{nlu,rules}` -> both; `<flow>` -> a glob."""
    if m := re.search(r"\{([^{}]*,[^{}]*)\}", path):
        return [
            x
            for part in m.group(1).split(",")
            for x in _expand(path[: m.start()] + part + path[m.end() :])
        ]
    return [re.sub(r"<[^<>]+>", "*", path)]


def _exists(path: str, page: Path, files: list[str]) -> bool:
    for candidate in _expand(path.rstrip("/")):
        if "*" in candidate:
            if not list(ROOT.glob(candidate)):
                return False
        elif not (
            (ROOT / candidate).exists()
            or (page.parent / candidate).exists()
            # a file named inside its package, as architecture.md does (`api/learner.py`)
            or any(f.endswith("/" + candidate) for f in files)
        ):
            return False
    return True


def looks_like_path(span: str) -> bool:
    """A file name, or a path that starts at a folder of the repository (`bot/metrics/`);
    not a URL, an option, a command, a time zone (Asia/Shanghai) or a MIME type."""
    if any(c.isspace() for c in span) or "…" in span or "=" in span or ":" in span:
        return False
    if span.startswith(("/", "http", "~", "$", "-", "../", *GENERATED)):
        return False  # URLs, options, things outside the clone or made by a run
    if span.endswith((".py", ".yml", ".yaml", ".md", ".sql", ".jsonl")):
        return True
    return "/" in span and (ROOT / span.split("/")[0]).is_dir()


def anchors(page: Path) -> set[str]:
    """The #anchors of a Markdown page's headings, as GitHub makes them."""
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, re.M)
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_path_a_page_names_exists(page):
    text = page.read_text("utf-8")
    files = repo_files()
    code = [s for s in re.findall(r"`([^`\n]+)`", text) if looks_like_path(s)]
    links = [
        link
        for link in re.findall(r"\]\(([^)\s]+)\)", text)
        if not link.startswith(("http://", "https://", "#", "mailto:"))
    ]
    missing = [p for p in code if not _exists(p, page, files)]
    for link in links:
        target, _, anchor = link.partition("#")
        path = page.parent / target
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            missing.append(link)
    assert not missing, f"{page.name} names paths that do not exist: {sorted(set(missing))}"


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text("utf-8")
    unlinked = [p.name for p in DOCS.glob("*.md") if f"(docs/{p.name})" not in readme]
    assert not unlinked, f"README.md does not link {unlinked}"


def cli_commands() -> dict[str, str]:
    """Every `afterclass` subcommand and its help text, from the parser `main` builds."""
    from bot import cli

    class Built(Exception):
        pass

    found: dict[str, argparse.ArgumentParser] = {}

    def stop(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        found["parser"] = self
        raise Built

    with (
        mock.patch.object(argparse.ArgumentParser, "parse_args", stop),
        mock.patch("logging.basicConfig"),
        mock.patch.dict(os.environ),
        pytest.raises(Built),
    ):
        cli.main([])
    (sub,) = [a for a in found["parser"]._actions if isinstance(a, argparse._SubParsersAction)]
    return {choice.dest: choice.help or "" for choice in sub._choices_actions}


def test_every_command_has_help_and_a_page():
    commands = cli_commands()
    assert {"run", "serve", "train", "build-index", "reference-platform"} <= set(commands)
    assert not [name for name, help in commands.items() if not help.strip()], commands
    pages = "".join((DOCS / p).read_text("utf-8") for p in ("operations.md", "configuration.md"))
    undocumented = [
        name for name in commands if not re.search(rf"afterclass {re.escape(name)}(?![\w-])", pages)
    ]
    assert not undocumented, f"commands missing from docs/operations.md: {undocumented}"


def test_make_alone_lists_every_target_with_a_line():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    targets = re.findall(r"^([a-z][\w-]*):(?!=)", makefile, re.M)
    assert "help" in targets
    undescribed = [t for t in targets if not re.search(rf"^{re.escape(t)}:.*## \S", makefile, re.M)]
    assert not undescribed, f"Makefile targets without a `## description`: {undescribed}"
    out = subprocess.run(
        ["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    listed = dict(
        line.strip().split(None, 1) for line in out.stdout.splitlines()[1:] if line.strip()
    )
    assert sorted(listed) == sorted(targets)
    assert all(len(line) > 10 for line in listed.values()), listed


def test_settings_named_in_the_docs_exist():
    """A setting the docs mention is one the code reads: no typo, nothing long gone."""
    known = {f"AFTERCLASS_{n.upper()}" for n in Settings.model_fields}
    known |= {f"AFTERCLASS_KB_{n.upper()}" for n in KBConfig.model_fields}
    for name in repo_files():
        if name.endswith((".py", ".yml", ".sh", ".example", "Makefile")):
            known |= set(re.findall(r"AFTERCLASS_[A-Z0-9_]*[A-Z0-9]", (ROOT / name).read_text()))
    for page in PAGES:
        named = set(re.findall(r"AFTERCLASS_[A-Z0-9_]*[A-Z0-9]", page.read_text("utf-8")))
        assert named <= known, f"{page.name} names unknown settings: {sorted(named - known)}"
