"""Every action code the incidents and cases apps write to the audit log has a label on the
audit page (`jikimi.audit.labels.ACTIONS`), so an auditor never reads a bare code there.

The codes are collected from the apps' source (not from a list kept by hand): every string
literal shaped like an action code of their groups, plus the codes the two f-strings that
build one can produce. A new f-string building a code of these groups fails the test until
its expansions are listed here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from jikimi.audit import labels
from jikimi.incidents.models import CustodyAction

SRC = Path(__file__).resolve().parents[2]
APPS = ("incidents", "cases")
CODE = re.compile(r"^(incident|event|evidence|determination|case|import)\.[a-z_]+(\.[a-z_]+)*$")
# The f-strings that build a code, and every code each can build.
BUILT = {
    "evidence.{action}": {f"evidence.{a}" for a in CustodyAction.values},
    "incident.{type(obj).__name__.lower()}.{action}": {
        f"incident.{kind}.{action}"
        for kind in ("term", "place")
        for action in ("retire", "restore", "delete")
    },
}


def _sources():
    for app in APPS:
        for path in sorted((SRC / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def collect() -> tuple[set[str], set[str]]:
    """(the codes found, the f-strings of these groups that BUILT does not know)."""
    codes: set[str] = set()
    unknown: set[str] = set()
    for path, tree in _sources():
        not_codes = {  # a serializer's `source="case.code"` is an attribute path
            id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "source"
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if CODE.match(node.value) and id(node) not in not_codes:
                    codes.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)[2:-1]
                if CODE.match(text.split("{")[0] + "x"):
                    if text in BUILT:
                        codes |= BUILT[text]
                    else:
                        unknown.add(f"{path.name}: {text}")
    return codes, unknown


def test_every_incident_and_case_action_code_has_a_label():
    codes, unknown = collect()
    assert not unknown, f"f-strings building action codes not listed in BUILT: {unknown}"
    # The collector really finds the codes (a broken one would pass vacuously).
    assert {"incident.create", "evidence.download", "determination.write", "case.open"} <= codes
    assert "import.incidents" in codes and "case.code" not in codes
    missing = sorted(code for code in codes if code not in labels.ACTIONS)
    assert not missing, f"action codes without a label on the audit page: {missing}"


def test_every_label_is_translated_to_korean():
    from django.utils import translation

    codes, _unknown = collect()
    with translation.override("ko"):
        untranslated = sorted(
            code
            for code in codes
            if str(labels.ACTIONS[code]) == str(labels.ACTIONS[code]._args[0])
        )
    assert not untranslated, f"labels without a Korean translation: {untranslated}"
