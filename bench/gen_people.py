"""Write seeded synthetic multi-source Korean person records and their ground truth.

    python bench/gen_people.py N OUT.csv [--seed S] [--difficulty easy|typical|hard|missing_30…]

Writes OUT.csv (person-record CSV, DESIGN §8) and OUT.truth.csv (record_id,person_id).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jikimi.linkage import synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--difficulty", default="typical", choices=sorted(synthetic.DIFFICULTIES))
    args = parser.parse_args()
    records, truth = synthetic.generate(args.n, seed=args.seed, difficulty=args.difficulty)
    synthetic.write_records(records, args.out)
    with args.out.with_suffix(".truth.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "person_id"])
        writer.writerows(sorted(truth.items()))


if __name__ == "__main__":
    main()
