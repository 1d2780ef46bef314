"""Layer 0 (DESIGN §2): `jikimi.lib` is pure Python, importing nothing from Django or the
rest of the project, so any layer (and a file command without settings) can use it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb

LIB = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in LIB.glob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_lib_imports_only_the_standard_library_and_itself(path: Path) -> None:
    outside = {
        name
        for name in _imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name != "jikimi.lib"
        and not name.startswith("jikimi.lib.")
    }
    assert outside == set(), f"{path.name} imports {sorted(outside)}"


def test_the_lib_modules_are_there() -> None:
    names = {p.stem for p in MODULES}
    assert {"korean", "places", "dates", "records", "i18n"} <= names
