"""Cells of a CSV that a spreadsheet opens: text that would start a formula is neutralised.

A value from an import or a form ("=HYPERLINK(…)", "@SUM(…)") would run as a formula when
the analyst opens the export. Spreadsheets also read the full-width forms that Korean and
Japanese input methods type (＝ ＋ － ＠) as formula starters, so those count too.
"""

from __future__ import annotations

FORMULA_STARTERS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20")  # ＝ ＋ － ＠


def neutralise_formula(value: str) -> str:
    """`value` with a leading apostrophe when its first character starts a formula."""
    return "'" + value if value[:1] in FORMULA_STARTERS else value
