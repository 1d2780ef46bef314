"""Export of the act list (incidents.export): CSV and XLSX of every act of an organisation,
as a user who sees identities (the most work: victims' names decrypted). One JSON line per
format.

    python bench/bench_incidents_export.py [--rows 20000]

The acts come from `jikimi import incidents` of bench_incidents' generated CSV, in a
temporary JIKIMI_HOME on SQLite (or DATABASE_URL's database if set).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run(rows: int) -> None:
    import bench_incidents as base

    base._setup()
    from django.conf import settings
    from django.db import connection

    from jikimi.accounts.services import create_staff, ensure_organisation
    from jikimi.incidents import export, importer

    org = ensure_organisation("bench-export")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "incidents.csv"
        base._write_csv(path, rows, random.Random(8))
        settings.JIKIMI_LINKAGE_ON_SAVE = False
        data = importer.read_rows(path, required=importer.REQUIRED, optional=importer.OPTIONAL)
        # Rows the person-record reader refuses are dropped (as bench_incidents does).
        result = importer.import_rows(data, org, name=str(path))
        if result.problems:
            bad = {p.row for p in result.problems}
            kept = [r for i, r in enumerate(data, start=2) if i not in bad]
            result = importer.import_rows(kept, org, name=str(path))
        assert not result.problems, [str(p) for p in result.problems[:3]]
    user, _ = create_staff("bench-cw", "bench-password-1234", org, "caseworker")
    for fmt in export.FORMATS:
        wall = time.perf_counter()
        found = export.export_acts(user, {}, format=fmt, reauthenticated=True)
        size = sum(len(chunk) for chunk in export.render(found))
        wall = time.perf_counter() - wall
        print(
            json.dumps(
                {
                    "bench": f"incidents.export.{fmt}",
                    "database": connection.vendor,
                    "rows": len(found.rows),
                    "seconds": round(wall, 2),
                    "rows_per_s": round(len(found.rows) / wall),
                    "bytes": size,
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    os.environ.setdefault("JIKIMI_HOME", tempfile.mkdtemp(prefix="jikimi-bench-"))
    run(args.rows)


if __name__ == "__main__":
    main()
