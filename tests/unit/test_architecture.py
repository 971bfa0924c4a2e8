"""Arrows point one way: a test that walks every import (module level and inside functions)
keeps the layering of docs/architecture.md true as the code grows.

    actions  ──▶ bot (its transcript, refund log, runtime) ──▶ libraries
    libraries: kb_index, handoff, course_platform, replies, reading (import neither above)

Inside `actions`, the flows (one per support flow) sit on the shared pieces, and no flow
imports another: a newcomer can read one flow without the others.
"""

import ast
from pathlib import Path

from bot.settings import ROOT

LIBRARIES = ("kb_index", "handoff", "course_platform", "replies", "reading", "privacy")
FLOWS = {
    "account",
    "certificate",
    "complaint",
    "invoice",
    "piracy",
    "privacy",
    "refund",
    "troubleshoot",
}
SHARED = {
    "__init__",
    "asking",
    "context",
    "form_guard",
    "handoff",
    "invoiceable",
    "kb",
    "language",
    "order_question",
    "orders",
    "refund_decisions",
    "refund_status",
    "slots",
    "wording",
}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_hub_imports_no_action():
    offenders = {
        str(f.relative_to(ROOT)): sorted(m for m in imports_of(f) if top(m) == "actions")
        for f in files("bot")
    }
    assert not {f: m for f, m in offenders.items() if m}


def test_libraries_import_neither_the_hub_nor_the_actions():
    offenders = {}
    for package in LIBRARIES:
        for f in files(package):
            above = sorted(m for m in imports_of(f) if top(m) in ("bot", "actions"))
            if above:
                offenders[str(f.relative_to(ROOT))] = above
    assert not offenders


def test_every_action_module_is_a_flow_or_a_shared_piece():
    # a new module must say which it is, here, so the next two tests know how to treat it
    modules = {f.stem for f in files("actions")}
    assert modules == FLOWS | SHARED, modules ^ (FLOWS | SHARED)


def _action_imports(module: str) -> set[str]:
    names = imports_of(ROOT / "actions" / f"{module}.py")
    return {m.split(".")[1] for m in names if m.startswith("actions.") and m.count(".") >= 1} & (
        FLOWS | SHARED
    )


def test_no_flow_imports_another_flow_and_shared_pieces_import_no_flow():
    for module in FLOWS | SHARED:
        flows = (_action_imports(module) & FLOWS) - {module}
        assert not flows, f"actions/{module}.py imports the flow(s) {sorted(flows)}"


def test_the_action_modules_import_each_other_without_a_circle():
    graph = {m: _action_imports(m) - {m} for m in FLOWS | SHARED}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if module in done:
            return
        for dep in sorted(graph[module]):
            visit(dep, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
