"""Coverage of the 95% intervals, every method x scenario; prints one JSON line.

Run: ``.venv/bin/python bench/bench_coverage.py [--runs N]`` (default 200 seeded tables per
scenario: about 30 minutes on one core, nearly all of it LCMCR's chains). The scenarios and
seeds are `jikimi.estimates.simulation`'s; `tests/test_simulation.py` asserts the two
properties the issue asks for on the same tables, and this run reports the whole table with
the same two targets (>= 90%).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jikimi.estimates.simulation import (  # noqa: E402
    RUNS,
    SCENARIOS,
    TRUE_TOTAL,
    VARIANTS,
    coverage,
)

TARGETS = {("independent", "independence"): 0.90, ("two-way", "bma"): 0.90}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument(
        "--variants", nargs="*", default=list(VARIANTS), help=f"a subset of {list(VARIANTS)}"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    for variant in args.variants:
        began = time.perf_counter()
        table[variant] = {s: round(coverage(s, variant, runs=args.runs), 4) for s in SCENARIOS}
        seconds[variant] = round(time.perf_counter() - began, 2)
    line = {
        "benchmark": "interval_coverage",
        "seconds": round(time.perf_counter() - start, 2),
        "runs": args.runs,
        "true_total": TRUE_TOTAL,
        "coverage": table,
        "seconds_by_method": seconds,
        "targets": {f"{v} on {s}": t for (s, v), t in TARGETS.items()},
        "within_targets": all(table[v][s] >= t for (s, v), t in TARGETS.items() if v in table),
    }
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
