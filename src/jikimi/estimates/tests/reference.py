"""Where the published capture-recapture tables and their reference values live."""

from __future__ import annotations

import csv
import os
from pathlib import Path


def mse_dir() -> Path:
    """The mse tables: ``$JIKIMI_SHARED`` (the ``shared/`` directory, or its ``data/mse``
    itself); by default ``shared/`` beside the repository checkout (``../shared`` in CI)."""
    default = Path(__file__).resolve().parents[4] / ".." / "shared"
    root = Path(os.environ.get("JIKIMI_SHARED", default)).resolve()
    return root if (root / "reference_estimates.csv").exists() else root / "data" / "mse"


def reference_row(dataset: str, method_starts: str, implementation: str = "") -> dict:
    """The one ``computed_here`` row of reference_estimates.csv for a dataset and method.

    ``method_starts`` matches the start of the method column (an exact match wins);
    ``implementation``, if given, must occur in the implementation column, and rows run
    "via" another package are skipped unless asked for.
    """
    with (mse_dir() / "reference_estimates.csv").open(newline="") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if r["dataset_csv"] == dataset
            and r["kind"] == "computed_here"
            and r["method"].startswith(method_starts)
            and implementation in r["implementation"]
            and ("via" not in r["implementation"] or "via" in implementation)
        ]
    exact = [r for r in rows if r["method"] == method_starts]
    rows = exact or rows
    assert len(rows) == 1, (dataset, method_starts, rows)
    row = dict(rows[0])
    for key in ("point", "lower", "upper"):
        row[key] = float(row[key]) if row[key] else None
    return row
