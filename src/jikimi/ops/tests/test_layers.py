"""The layers of DESIGN §2 hold: an app imports only from the layers below it.

Read from the source (every `import` and `from … import`, at any depth, tests and
migrations left out), so a new import that breaks the layering fails here, not in review.
That lib imports only the standard library is lib/tests/test_layering.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parents[2]  # src/jikimi

# DESIGN §2. Apps of one layer do not import each other either (that is how cycles start),
# except where a pair is listed in SAME_LAYER_ALLOWED with the reason.
LAYERS: dict[str, int] = {
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
PROJECT_MODULES = {"settings", "urls", "wsgi", "cli", "conftest"}  # the project: above all
SAME_LAYER_ALLOWED = {
    # Every audit row names its actor (a user of accounts); accounts writes login events to
    # the audit log through audit.services. Both are layer 2 by design (DESIGN §2).
    ("accounts", "audit"),
    ("audit", "accounts"),
    # alerts notifies staff through notify's outbox (DESIGN §5: one outbox).
    ("alerts", "notify"),
}


def _sources() -> list[Path]:
    files = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if (
            "tests" in parts
            or "migrations" in parts
            or parts[0] in {f"{m}.py" for m in PROJECT_MODULES}
        ):
            continue
        files.append(path)
    return files


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every jikimi import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["jikimi", *path.relative_to(ROOT).parent.parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return [(line, m) for line, m in found if m == "jikimi" or m.startswith("jikimi.")]


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_app_has_a_layer():
    apps = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert apps - set(LAYERS) == set(), "add the new app to DESIGN §2 and to LAYERS"


def test_no_app_imports_from_its_own_layer_or_above():
    wrong = []
    for path in _sources():
        here = path.relative_to(ROOT).parts[0]
        if here not in LAYERS:
            continue
        for line, module in _imports(path):
            there = _app(module)
            if there is None or there == here:
                continue
            if there in PROJECT_MODULES:
                if here == "ops":  # ops runs the whole: it serves jikimi.wsgi
                    continue
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports the project ({module})")
            elif there not in LAYERS:
                continue
            elif LAYERS[there] > LAYERS[here] or (
                LAYERS[there] == LAYERS[here] and (here, there) not in SAME_LAYER_ALLOWED
            ):
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} ({here}, layer {LAYERS[here]}) imports "
                    f"{module} ({there}, layer {LAYERS[there]})"
                )
    assert not wrong, "\n".join(wrong)
