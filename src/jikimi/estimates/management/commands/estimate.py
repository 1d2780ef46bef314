"""`jikimi estimate PATH [--method …] [--level 0.95] [--seed N] [--json] [--records]`.

Exit codes (DESIGN §8): 0 success; 2 bad input, naming the file, row and column; 3 no finite
estimate exists (the message says which lists fail to overlap); 1 any other failure.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from django.core.management.base import BaseCommand, CommandError

from jikimi.estimates.options import DEFAULT_SEED, METHODS

if TYPE_CHECKING:
    from jikimi.estimates.services import Estimate

# The engine (numpy, scipy, numba: seconds to import) is imported when an estimate is asked
# for, not for `--help` or a bad option (issue: every command ready in half a second).


class Command(BaseCommand):
    help = (
        "Estimate a population size (people never documented included) by multiple systems "
        "estimation from a capture-history CSV (0/1 list columns, then count) or, with "
        "--records, a person_id,list CSV."
    )
    # Pure computation on a file: no database, so skip the system checks that would open one.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument(
            "path", help="capture-history CSV, or a person_id,list CSV with --records"
        )
        parser.add_argument("--method", choices=METHODS, default="stepwise")
        parser.add_argument("--level", type=float, default=0.95, help="interval level (0.95)")
        parser.add_argument(
            "--seed", type=int, default=None, help=f"seed for anything random ({DEFAULT_SEED})"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--records", action="store_true", help="PATH is person_id,list")
        parser.add_argument(
            "--bootstrap",
            type=int,
            default=0,
            metavar="B",
            help="stepwise: BCa bootstrap interval from B replicates instead of the Wald interval",
        )
        parser.add_argument(
            "--stepwise-rule",
            choices=("pvalue", "aic"),
            default="pvalue",
            help="stepwise: add the term with the smallest p-value (SparseMSE's code, default) "
            "or the one giving the lowest AIC among those with p < 0.02",
        )
        parser.add_argument("--delta", type=float, default=None, help="bma: hyper-Dirichlet delta")
        parser.add_argument("--samples", type=int, default=None, help="lcmcr: posterior samples")
        parser.add_argument("--burnin", type=int, default=None, help="lcmcr: burn-in iterations")
        parser.add_argument("--thin", type=int, default=None, help="lcmcr: thinning")

    def handle(self, *args, **options):
        from jikimi.estimates.loglinear import NoFiniteEstimate
        from jikimi.estimates.services import EstimationInputError, estimate_population
        from jikimi.estimates.tables import TableInputError, read_capture_csv, read_records_csv

        path = options["path"]
        try:
            reader = read_records_csv if options["records"] else read_capture_csv
            table = reader(path)
        except TableInputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        opts = {"bootstrap": options["bootstrap"], "rule": options["stepwise_rule"]}
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap must be zero or positive", returncode=2)
        for name in ("delta", "samples", "burnin", "thin"):
            if options[name] is not None:
                opts[name] = options[name]
        try:
            result = estimate_population(
                table,
                method=options["method"],
                level=options["level"],
                seed=options["seed"],
                **opts,
            )
        except EstimationInputError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from exc
        except NoFiniteEstimate as exc:
            raise CommandError(f"{path}: {exc}", returncode=3) from exc
        except CommandError:
            raise
        except Exception as exc:  # any other failure exits 1 with a message, not a traceback
            raise CommandError(f"{path}: estimation failed: {exc}", returncode=1) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json_dict(), ensure_ascii=False))
        else:
            self.stdout.write(format_table(result))


def _num(value: float) -> str:
    return "unbounded" if not math.isfinite(value) else f"{value:,.1f}"


def format_table(result: Estimate) -> str:
    """Readable output: one labelled line per field, warnings last."""
    lo, hi = result.interval
    rows = [
        ("Method", result.method),
        ("Lists", ", ".join(result.lists)),
        ("Observed", f"{result.observed:,}"),
        ("Estimate", _num(result.estimate)),
        (f"{result.level:.0%} interval", f"{_num(lo)} – {_num(hi)}"),
        ("Model", result.model),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    if result.warnings:
        lines.append("Warnings:")
        lines.extend(f"  - {w}" for w in result.warnings)
    else:
        lines.append("Warnings: none")
    return "\n".join(lines)
