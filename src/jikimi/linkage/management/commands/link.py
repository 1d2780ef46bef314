"""`jikimi link PATH... --out CLUSTERS.csv [--pairs PAIRS.csv] [--backend duckdb|spark]
[--threshold P]` (DESIGN §8): link person records from files. Touches no database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jikimi.linkage.defaults import DEFAULT_THRESHOLD


class Command(BaseCommand):
    help = "Link person records from CSV files into clusters of the same person."
    requires_system_checks: list[str] = []  # no database, no models: run anywhere
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="person-record CSV files")
        parser.add_argument("--out", required=True, metavar="CLUSTERS.csv")
        parser.add_argument("--pairs", metavar="PAIRS.csv", help="also write every scored pair")
        parser.add_argument("--backend", choices=("duckdb", "spark"), default="duckdb")
        parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="P")
        parser.add_argument(
            "--model-out",
            metavar="MODEL.json",
            help="where to save the trained model (default: next to --out, as <name>.model.json)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Here, not at the top: pandas and Splink are for linking, not for `--help`.
        from jikimi.linkage.engine import write_csv_atomically, write_json_atomically
        from jikimi.linkage.services import LinkInputError, link_records

        out = Path(options["out"])
        pairs_path = Path(options["pairs"]) if options["pairs"] else None
        model_path = (
            Path(options["model_out"]) if options["model_out"] else out.with_suffix(".model.json")
        )
        for target in filter(None, (out, pairs_path, model_path)):
            if not target.parent.is_dir():
                raise CommandError(
                    f"{target}: row 0: column -: directory does not exist", returncode=2
                )
        try:
            result = link_records(
                options["paths"],
                threshold=options["threshold"],
                backend=options["backend"],
                all_pairs=pairs_path is not None,
            )
        except LinkInputError as exc:
            raise CommandError(str(exc), returncode=2)
        except ImportError as exc:
            raise CommandError(f"--backend {options['backend']}: {exc}", returncode=1)
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        write_csv_atomically(result.clusters, out)
        if pairs_path is not None:
            write_csv_atomically(result.pairs, pairs_path, float_format="%.6f")
        write_json_atomically(result.model, model_path)
        self.stdout.write(
            f"{len(result.clusters)} records, {result.cluster_count} clusters -> {out}"
        )
