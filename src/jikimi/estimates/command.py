"""`jikimi estimate`'s arguments and work, without Django (DESIGN §8).

The management command (``management/commands/estimate.py``) and the console script's fast
path (``jikimi.cli``) share this module: an estimate on a CSV file needs neither the database
nor Django, so `jikimi estimate` runs without ``django.setup()`` (every command ready in half
a second). The engine (numpy, scipy, numba) is imported only when an estimate is asked for,
not for `--help` or a bad option.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from jikimi.estimates.options import DEFAULT_SEED, METHODS

if TYPE_CHECKING:
    from jikimi.estimates.services import Estimate

HELP = (
    "Estimate a population size (people never documented included) by multiple systems "
    "estimation from a capture-history CSV (0/1 list columns, then count) or, with "
    "--records, a person_id,list CSV; or, with --incidents --org SLUG, from the "
    "organisation's return acts (each source kind a list)."
)


class EstimateFailed(Exception):
    """The command's failure: the message to print and the exit code (2 bad input, 3 no
    finite estimate, 1 anything else); the management command raises it as CommandError."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        help="capture-history CSV, or a person_id,list CSV with --records",
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
    # From the database instead of a file (jikimi.estimates.incidents_command, with Django).
    parser.add_argument(
        "--incidents",
        action="store_true",
        help="estimate from the return acts of --org's incidents (each source kind a list)",
    )
    parser.add_argument("--org", help="--incidents: the organisation's slug")
    parser.add_argument(
        "--by", choices=("act-type", "determination"), help="--incidents: stratify by"
    )
    parser.add_argument(
        "--lists", help="--incidents: source kinds as lists, e.g. case_file,ngo_list (all)"
    )


def run(options: dict[str, Any]) -> str:
    """The text the command prints for these parsed options; EstimateFailed when it fails."""
    if options.get("incidents"):
        from jikimi.estimates import incidents_command  # reads the database: needs Django

        return incidents_command.run(options)
    if not options["path"]:
        raise EstimateFailed("give PATH (a capture-history CSV) or --incidents --org SLUG", 2)
    if given := [f"--{n}" for n in ("org", "by", "lists") if options.get(n)]:
        raise EstimateFailed(f"{', '.join(given)}: only with --incidents", 2)
    from jikimi.estimates.loglinear import NoFiniteEstimate
    from jikimi.estimates.services import EstimationInputError, estimate_population
    from jikimi.estimates.tables import TableInputError, read_capture_csv, read_records_csv

    path = options["path"]
    try:
        reader = read_records_csv if options["records"] else read_capture_csv
        table = reader(path)
    except TableInputError as exc:
        raise EstimateFailed(str(exc), 2) from exc
    opts = {"bootstrap": options["bootstrap"], "rule": options["stepwise_rule"]}
    if options["bootstrap"] < 0:
        raise EstimateFailed("--bootstrap must be zero or positive", 2)
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
        raise EstimateFailed(f"{path}: {exc}", 2) from exc
    except NoFiniteEstimate as exc:
        raise EstimateFailed(f"{path}: {exc}", 3) from exc
    except Exception as exc:  # any other failure exits 1 with a message, not a traceback
        raise EstimateFailed(f"{path}: estimation failed: {exc}", 1) from exc
    if options["json"]:
        return json.dumps(result.to_json_dict(), ensure_ascii=False)
    return format_table(result)


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
