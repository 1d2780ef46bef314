"""Cells of a CSV that a spreadsheet opens: text that would start a formula is neutralised.

A value from an import or a form ("=HYPERLINK(…)", "@SUM(…)") would run as a formula when
the analyst opens the export. Spreadsheets also read the full-width forms that Korean and
Japanese input methods type (＝ ＋ － ＠) as formula starters, so those count too.
"""

from __future__ import annotations

import re

FORMULA_STARTERS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20")  # ＝ ＋ － ＠


# A plain signed decimal ("-12.5", a longitude west of Greenwich) is a number, never a
# formula: it keeps its sign so that an export re-imports unchanged.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def neutralise_formula(value: str) -> str:
    """`value` with a leading apostrophe when its first character starts a formula."""
    if value[:1] in FORMULA_STARTERS and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
