"""CSV formula neutralising, pure (issue 12, point 11: full-width starters too)."""

from __future__ import annotations

import pytest

from jikimi.lib.spreadsheet import neutralise_formula

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1",
        "-1+1",
        "-A1",
        "-1e3",
        "-cmd|x!A0",
        "@SUM(A1)",
        "\tx",
        "\rx",
        '＝HYPERLINK("x")',
        "＋1",
        "－1",
        "＠SUM(A1)",
    ],
)
def test_it_neutralises_every_formula_starter(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["", "A", "이지현", "1=1", " =1", "S1"])
def test_it_leaves_other_text_alone(value):
    assert neutralise_formula(value) == value


@pytest.mark.parametrize("value", ["-1", "-126.53", "-0.5"])
def test_a_plain_negative_number_keeps_its_sign(value):
    # A longitude west of Greenwich must re-import as the number it was.
    assert neutralise_formula(value) == value
