"""Export of the act list (incidents.export): CSV and XLSX of every act of an organisation,
as a user who sees identities (the most work: victims' names decrypted). One JSON line per
format, with the peak RSS of the process that exported (`peak_rss_mb`: a fresh process per
format, after the import, so the import's memory is not counted; `base_rss_mb` is that
process's peak before the export, Django set up).

    python bench/bench_incidents_export.py [--rows 20000]

The acts come from `jikimi import incidents` of bench_incidents' generated CSV, in a
temporary JIKIMI_HOME on SQLite (or DATABASE_URL's database if set).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run(rows: int) -> None:
    import bench_incidents as base

    base._setup()
    from django.conf import settings

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
    create_staff("bench-cw", "bench-password-1234", org, "caseworker")
    for fmt in export.FORMATS:
        # A fresh process per format (same JIKIMI_HOME and keys): its peak RSS is the export's.
        subprocess.run([sys.executable, __file__, "--export", fmt], check=True)


def _peak_mb() -> float:
    """This process's peak resident set, MiB: VmHWM on Linux (reset by exec, unlike
    getrusage's ru_maxrss, which a child inherits from the parent that forked it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def export_once(fmt: str) -> None:
    import bench_incidents as base

    base._setup()
    from django.db import connection

    from jikimi.accounts.models import User
    from jikimi.incidents import export

    user = User.objects.get(username="bench-cw")
    before = _peak_mb()
    wall = time.perf_counter()
    found = export.export_acts(user, {}, format=fmt, reauthenticated=True)
    size = sum(len(chunk) for chunk in export.render(found))
    wall = time.perf_counter() - wall
    rows = getattr(found, "count", None)
    if rows is None:  # the export before streaming (issue #14) held its rows
        rows = len(found.rows)
    print(
        json.dumps(
            {
                "bench": f"incidents.export.{fmt}",
                "database": connection.vendor,
                "rows": rows,
                "seconds": round(wall, 2),
                "rows_per_s": round(rows / wall),
                "bytes": size,
                "base_rss_mb": before,
                "peak_rss_mb": _peak_mb(),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--export", choices=["csv", "xlsx"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    os.environ.setdefault("JIKIMI_HOME", tempfile.mkdtemp(prefix="jikimi-bench-"))
    if args.export:
        export_once(args.export)
    else:
        run(args.rows)


if __name__ == "__main__":
    main()
