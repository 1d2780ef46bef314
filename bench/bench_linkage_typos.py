"""Linkage on the independent "field lists" generator (`jikimi.linkage.fieldlists`): F1,
precision and recall overall and per error kind, on the tuning seeds and the held-out seed,
for this engine, the previous engine and plain Splink (Jaro-Winkler on the raw name); the
reliability curve of the match probabilities; wall time and peak RSS.

Each result is one JSON line on stdout, naming its tier: `harsh` (the generator's default
rates, which the engine was tuned on) and `moderate` (`fieldlists.MODERATE_SCALE`: the
rates at which the engine the issue measured scores what it scored on the issue's
benchmark). Environment:
`BENCH_TYPOS_TIERS` (default harsh,moderate),
`BENCH_TYPOS_PEOPLE` (default 3000 people, about 7,000 records per seed, harsh tier),
`BENCH_TYPOS_MODERATE_PEOPLE` (default 4000, about 9,300 records: the issue's benchmark size),
`BENCH_TYPOS_SEEDS` (default the tuning seeds 11,12,13 and the held-out 777),
`BENCH_TYPOS_PREVIOUS` (a source tree, default `/work/main/src` when it exists: the engine
before this change, run in a child process on the same records; empty to skip),
`BENCH_TYPOS_ISSUE_ENGINE` (a source tree of the engine the issue measured, 913996b; empty,
the default, to skip),
`BENCH_TYPOS_BASELINE` (1: run plain Splink too; default 1),
`BENCH_TYPOS_SPEED` (default 100000 records; comma-separated sizes; 0 skips), each timing in
a child process so its peak RSS is its own.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
os.environ.setdefault("JIKIMI_TESTING", "1")

FIELDS = [
    "record_id", "source", "name", "name_hangul", "birth_date", "sex", "province", "county",
    "defection_year", "phone", "notes",
]  # fmt: skip

# Run by the child process against another source tree: link one CSV, write the clusters.
_CHILD = """
import sys, os, csv
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jikimi.settings")
os.environ.setdefault("JIKIMI_TESTING", "1")
import django
django.setup()
from jikimi.linkage.services import link_records
result = link_records([sys.argv[2]], progress=False)
result.clusters.to_csv(sys.argv[3], index=False)
"""


def _write(records: list[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(records)


def _link_with(src: str, path: Path) -> dict[str, str]:
    out = path.with_suffix(".clusters.csv")
    subprocess.run([sys.executable, "-c", _CHILD, src, str(path), str(out)], check=True)
    with out.open(encoding="utf-8") as handle:
        return {row["record_id"]: row["cluster_id"] for row in csv.DictReader(handle)}


def _clusters_of(result: Any) -> dict[str, str]:
    """record_id → cluster_id of a `LinkResult`."""
    return dict(zip(result.clusters["record_id"], result.clusters["cluster_id"], strict=True))


def _line(
    tier: str, model: str, seed: int, scores: dict[str, dict[str, float | int]], **extra: object
) -> None:
    from jikimi.linkage import fieldlists

    held_out = seed == fieldlists.HELD_OUT_SEED
    print(
        json.dumps(
            {
                "bench": "linkage_typos",
                "model": model,
                "tier": tier,
                "seed": seed,
                "held_out": held_out,
                **extra,
                "overall": scores["overall"],
                "by_kind": {k: v for k, v in scores.items() if k != "overall"},
            }  # fmt: skip
        ),
        flush=True,
    )


def _outcomes(pairs: object, truth: dict[str, str]) -> tuple[list[float], list[bool]]:
    import pandas as pd

    frame = pd.DataFrame(pairs)
    true = [
        truth[a] == truth[b]
        for a, b in zip(frame["record_id_l"], frame["record_id_r"], strict=True)
    ]
    return frame["match_probability"].astype(float).tolist(), true


def reliability(pairs: object, truth: dict[str, str]) -> list[dict[str, float | int]]:
    """Bins of match_probability against the observed share of true pairs."""
    from jikimi.linkage import calibration

    return calibration.reliability(*_outcomes(pairs, truth))


def accuracy(tier: str, scale: float, n_people: int, seeds: list[int]) -> None:
    import django

    django.setup()
    import numpy as np
    from bench_linkage import baseline_jaro_winkler

    from jikimi.linkage import calibration, fieldlists
    from jikimi.linkage.defaults import DEFAULT_THRESHOLD
    from jikimi.linkage.services import link_records

    previous = os.environ.get(
        "BENCH_TYPOS_PREVIOUS", "/work/main/src" if Path("/work/main/src").is_dir() else ""
    )
    issue_engine = os.environ.get("BENCH_TYPOS_ISSUE_ENGINE", "")
    # Labelled pairs of the tuning seeds, for the isotonic recalibration (`calibration.fit`)
    # reported on the held-out seed (fitted on the tuning seeds only, never on 777).
    tuning: tuple[list[float], list[bool]] = ([], [])
    for seed in seeds:
        data = fieldlists.generate(n_people, seed=seed, scale=scale)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "people.csv"
            _write(data.records, path)
            started = time.perf_counter()
            result = link_records([path], progress=False, all_pairs=True)
            seconds = time.perf_counter() - started
            scores = fieldlists.scores_by_kind(_clusters_of(result), data.truth, data.kinds)
            _line(
                tier, "jikimi", seed, scores, records=len(data.records), seconds=round(seconds, 1)
            )
            probabilities, outcomes = _outcomes(result.pairs, data.truth)
            curve = calibration.reliability(probabilities, outcomes)
            print(
                json.dumps(
                    {
                        "bench": "linkage_typos_reliability",
                        "tier": tier,
                        "seed": seed,
                        "curve": curve,
                    }  # fmt: skip
                ),
                flush=True,
            )
            if seed != fieldlists.HELD_OUT_SEED:
                tuning[0].extend(probabilities)
                tuning[1].extend(outcomes)
            elif tuning[0]:
                fitted = calibration.fit(*tuning)
                mapped = fitted.apply(probabilities).tolist()
                print(
                    json.dumps(
                        {
                            "bench": "linkage_typos_calibrated",
                            "tier": tier,
                            "seed": seed,
                            "fitted_on_pairs": fitted.pairs,
                            "knots": len(fitted.weights),
                            "ece_raw": round(
                                calibration.expected_calibration_error(probabilities, outcomes), 4
                            ),
                            "ece_calibrated": round(
                                calibration.expected_calibration_error(mapped, outcomes), 4
                            ),
                            "curve": calibration.reliability(mapped, outcomes),
                        }  # fmt: skip
                    ),
                    flush=True,
                )
                # Linking at a calibrated 0.5: the lowest raw probability the map (fitted on
                # the tuning seeds only) takes to 0.5 or more, as the threshold.
                grid = np.linspace(0.01, 0.99, 99)
                above = grid[fitted.apply(grid) >= 0.5]
                if len(above):
                    raw = float(above[0])
                    at = link_records([path], progress=False, threshold=raw)
                    _line(
                        tier,
                        "jikimi_calibrated_threshold",
                        seed,
                        fieldlists.scores_by_kind(_clusters_of(at), data.truth, data.kinds),
                        raw_threshold=round(raw, 2),
                    )
            if DEFAULT_THRESHOLD != 0.5:
                # The same engine at the former default, to tell the threshold's part apart.
                at = link_records([path], progress=False, threshold=0.5)
                _line(
                    tier,
                    "jikimi_threshold_0.5",
                    seed,
                    fieldlists.scores_by_kind(_clusters_of(at), data.truth, data.kinds),
                )
            for name, tree in (("previous_engine", previous), ("issue_engine", issue_engine)):
                if tree:
                    old = _link_with(tree, path)
                    _line(tier, name, seed, fieldlists.scores_by_kind(old, data.truth, data.kinds))
        if os.environ.get("BENCH_TYPOS_BASELINE", "1") == "1":
            base = baseline_jaro_winkler(data.records)
            base = {r: base.get(r, r) for r in data.truth}
            _line(
                tier,
                "splink_jaro_winkler_raw_name",
                seed,
                fieldlists.scores_by_kind(base, data.truth, data.kinds),
            )


def tier_sizes() -> dict[str, tuple[float, int]]:
    """Each tier's error scale and people: `BENCH_TYPOS_PEOPLE`, `BENCH_TYPOS_MODERATE_PEOPLE`."""
    from jikimi.linkage import fieldlists

    return {
        "harsh": (1.0, int(os.environ.get("BENCH_TYPOS_PEOPLE", "3000"))),
        "moderate": (
            fieldlists.MODERATE_SCALE,
            int(os.environ.get("BENCH_TYPOS_MODERATE_PEOPLE", "4000")),
        ),
    }


def speed(n: int) -> None:
    done = subprocess.run(
        [sys.executable, __file__, "--speed-child", str(n)], capture_output=True, text=True
    )
    if done.returncode != 0:
        print(
            json.dumps({"bench": "linkage_typos_speed", "records": n, "error": done.stderr[-800:]})
        )
        return
    line = json.loads(done.stdout.strip().splitlines()[-1])
    line["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    print(json.dumps(line), flush=True)


def speed_child(n: int) -> None:
    import django

    django.setup()
    from jikimi.linkage import fieldlists
    from jikimi.linkage.services import link_records

    data = fieldlists.generate(int(n / 2.3), seed=fieldlists.HELD_OUT_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.csv"
        _write(data.records, path)
        records = len(data.records)
        started = time.perf_counter()
        result = link_records([path], progress=False)
        seconds = time.perf_counter() - started
    overall = fieldlists.scores_by_kind(_clusters_of(result), data.truth, data.kinds)["overall"]
    print(
        json.dumps(
            {
                "bench": "linkage_typos_speed",
                "records": records,
                "seconds": round(seconds, 1),
                "pairs_scored": len(result.pairs),
                "timings": {k: round(v, 1) for k, v in result.timings.items()},
                **overall,
            }  # fmt: skip
        ),
        flush=True,
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--speed-child":
        speed_child(int(sys.argv[2]))
        sys.exit(0)
    tiers = tier_sizes()
    seed_text = os.environ.get("BENCH_TYPOS_SEEDS", "11,12,13,777")
    for tier in filter(None, os.environ.get("BENCH_TYPOS_TIERS", "harsh,moderate").split(",")):
        scale, people = tiers[tier]
        if people:
            accuracy(tier, scale, people, [int(s) for s in seed_text.split(",")])
    for size in os.environ.get("BENCH_TYPOS_SPEED", "100000").split(","):
        if int(size):
            speed(int(size))
