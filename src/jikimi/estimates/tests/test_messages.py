"""Engine messages: English for the command, Korean in the app (from the estimates catalog)."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

from django.core.cache import cache
from django.utils import translation

from jikimi.estimates import loglinear
from jikimi.estimates.messages import Message, _, localised
from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import table_from_counts

PACKAGE = Path(__file__).resolve().parents[1]
MARKERS = {"_", "gettext_noop", "gettext", "gettext_lazy"}


def marked_strings() -> dict[str, str]:
    """Every literal the estimates modules mark for translation, with where it is."""
    found = {}
    for path in sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("management/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in MARKERS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, f"{path.name}:{node.lineno}")
    return found


def test_it_has_korean_for_every_marked_estimates_string():
    strings = marked_strings()
    assert len(strings) > 40
    with translation.override("ko"):
        missing = [f"{where}: {s!r}" for s, where in strings.items() if translation.gettext(s) == s]
    assert not missing, "no Korean for:\n" + "\n".join(missing)


def test_it_is_the_english_text_and_keeps_its_template():
    message = _("no one is on list(s) %(lists)s") % {"lists": "A, B"}
    assert message == "no one is on list(s) A, B" and isinstance(message, str)
    assert message.template == "no one is on list(s) %(lists)s"
    cache.set("jikimi:test:message", message)  # the results cache pickles it
    for kept in (copy.deepcopy(message), cache.get("jikimi:test:message")):
        assert isinstance(kept, Message) and kept.params == {"lists": "A, B"}
        assert kept == message


def test_it_translates_messages_inside_messages():
    table = table_from_counts(["A", "B", "C"], {(1, 0, 0): 5, (0, 1, 0): 7, (0, 0, 1): 4})
    try:
        estimate_population(table)
    except loglinear.NoFiniteEstimate as exc:
        reason = exc.args[0]
    assert str(reason).startswith("no finite estimate exists for lists A, B, C: the lists fall")
    with translation.override("ko"):
        korean = localised(reason, translation.gettext)
    assert korean.startswith("목록 A, B, C에서는 유한한 추정값이 나오지 않습니다")
    assert "누락된 사람 수에 상한이 없습니다: {A}; {B}; {C}" in korean
    assert localised("plain text", translation.gettext) == "plain text"
