"""The apps import only downwards (DESIGN §2): an app never imports one of a higher layer.

Same-layer imports are allowed (accounts and audit use each other). Tests and migrations
are left out: tests may build any fixture, and migrations name models by label.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {
    "lib": 0,
    "core": 1,
    "accounts": 2,
    "audit": 2,
    "people": 3,
    "notify": 4,
    "alerts": 4,
    "checkins": 5,
    "linkage": 5,
    "incidents": 5,
    "cases": 5,
    "estimates": 6,
    "earlywarning": 6,
    "reports": 6,
    "selfservice": 7,
    "api": 7,
    "ops": 7,
}
# Being moved by other branches: Korean names go to jikimi.lib.korean (issue 10).
PENDING = {("people", "jikimi.linkage.korean")}


def upward_imports() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        app = parts[0]
        if app not in LAYERS or "tests" in parts or "migrations" in parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                other = module.split(".")[1] if module.startswith("jikimi.") else ""
                if LAYERS.get(other, -1) > LAYERS[app] and (app, module) not in PENDING:
                    where = path.relative_to(ROOT)
                    found.append(f"{where}:{node.lineno}: {app} imports {module}")
    return found


def test_no_app_imports_a_higher_layer():
    assert upward_imports() == []


def test_every_app_has_a_layer():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"lib"}
    assert apps <= set(LAYERS), apps - set(LAYERS)
