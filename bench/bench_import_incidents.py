"""`jikimi import incidents` of N generated rows (issue #14: 100,000 rows ≤ 60 s).

    python bench/bench_import_incidents.py [--rows 10000] [--seed 8]
        [--database sqlite|postgres|both] [--profile] [--linkage] [--ahead on|off|both]
        [--beside [--kept-home DIR] [--kept-pg NAME]]

Generates a synthetic incident CSV of the DESIGN §8 shape (the columns of
`/work/shared/data/incidents-sample.csv`: one to three acts an event, a new victim per row,
names from the linkage's synthetic generator), drops the rows the person-record reader would
refuse, and times `importer.import_incidents` into an empty organisation. Linkage after the
commit is off unless `--linkage` (the people bench measures linkage). Prints one JSON line per
database, with the queries the import ran (`queries`, per row `queries_per_row`); `--profile`
also prints the top of a cProfile to stderr. `--ahead off` keeps the victims' digests in the
importing process (no child process computing them ahead: `IdentityIndexer.expect`), `both`
runs each database both ways, one after the other, for a comparison in the same session;
`--writer off|on|both` the same for the background writer of each chunk
(`incidents.services.BACKGROUND_INDEX_WRITES`).

SQLite runs in a temporary JIKIMI_HOME; PostgreSQL in a scratch database `bench_import` on
127.0.0.1:5432 (dropped and created here).

`--beside` imports beside the million acts the act-list bench keeps
(`bench_incidents.py --only list --reuse`, its SQLite home `--kept-home` and PostgreSQL
database `--kept-pg`), into their organisation `bench` (its people with identities and
blind-index rows, its acts): a copy of the kept database each run (SQLite: the file; PostgreSQL:
`CREATE DATABASE … TEMPLATE`), so every run starts from the same state. The JSON line then
carries what was there before (`existing`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def write_csv(path: Path, rows: int, seed: int) -> None:
    """`rows` synthetic incident rows (fewer: the person-record reader's refusals dropped)."""
    from jikimi.incidents.importer import COLUMNS
    from jikimi.lib import gazetteer, records
    from jikimi.linkage import synthetic

    rng = random.Random(seed)
    people, _truth = synthetic.generate(rows, seed=seed, difficulty="typical")
    acts = [t.code for t in gazetteer.terms("act_type")]
    perps = [t.code for t in gazetteer.terms("perpetrator")]
    degrees = [t.code for t in gazetteer.terms("involvement")]
    kinds = [t.code for t in gazetteer.terms("source_kind")]
    names = [p.en for p in gazetteer.places()] + [p.ko for p in gazetteer.places()]
    today = dt.date.today()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        event, left = 0, 0
        for i, person in enumerate(people):
            victim = {
                "record_id": f"V{i}",
                "source": "incidents",
                "name": person.get("name", "") or "Kim Chol",
                "name_hangul": person.get("name_hangul", ""),
                "birth_date": person.get("birth_date", ""),
                "sex": person.get("sex", ""),
                "province": person.get("province", ""),
            }
            if records.parse_record(victim, today=today)[1]:
                continue  # a synthetic typo the reader refuses: dropped, not fixed
            if left == 0:
                event, left = event + 1, rng.choice((1, 1, 2, 3))
                day = dt.date(2010, 1, 1) + dt.timedelta(days=rng.randrange(15 * 365))
                place = rng.choice(names)
            left -= 1
            writer.writerow(
                {
                    "event_id": f"B-{event}",
                    "act_type": rng.choice(acts),
                    "date": day.isoformat(),
                    "place": place,
                    "victim_record_id": victim["record_id"],
                    "victim_name": victim["name"],
                    "victim_name_hangul": victim["name_hangul"],
                    "victim_birth_date": victim["birth_date"],
                    "victim_sex": victim["sex"],
                    "victim_province": victim["province"],
                    "perpetrator": rng.choice(perps),
                    "involvement": rng.choice(degrees),
                    "source": rng.choice(kinds),
                    "source_reliability": rng.choice("ABCDEF"),
                    "information_credibility": rng.choice("123456"),
                    "title": f"Synthetic event {event}",
                    "description": "Synthetic description" if rng.random() < 0.5 else "",
                }
            )


def run(
    rows: int, seed: int, profile: bool, linkage: bool, ahead: bool, writer: bool, org_slug: str
) -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from jikimi.incidents import services as incident_services
    from jikimi.people.services import IdentityIndexer

    if not ahead:
        IdentityIndexer.PREFETCH_MIN = sys.maxsize
    incident_services.BACKGROUND_INDEX_WRITES = writer
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))
    from jikimi.accounts.services import ensure_organisation
    from jikimi.audit.services import verify_chain
    from jikimi.incidents import importer
    from jikimi.incidents.models import Act
    from jikimi.people.models import Identity, IdentityIndex, Person

    existing = {
        "acts": Act.objects.count(),
        "org_acts": Act.objects.filter(organisation__slug=org_slug).count(),
        "people": Person.objects.count(),
        "identities": Identity.objects.count(),
        "index_rows": IdentityIndex.objects.count(),
    }
    org = ensure_organisation(org_slug)
    settings.JIKIMI_LINKAGE_ON_SAVE = linkage
    queries = [0]

    by_statement: dict[str, float] = {}

    def count(execute, sql, params, many, context):
        queries[0] += 1
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split()[:3])[:60]
            by_statement[key] = by_statement.get(key, 0.0) + time.perf_counter() - start

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "incidents.csv"
        write_csv(path, rows, seed)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        with connection.execute_wrapper(count):
            wall, cpu = time.perf_counter(), time.process_time()
            result = importer.import_incidents(path, org)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profiler is not None:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
    assert not result.problems, [str(p) for p in result.problems[:3]]
    chain = verify_chain()
    print(
        json.dumps(
            {
                "bench": "incidents.import",
                "database": connection.vendor,
                "rows": result.created,
                "seed": seed,
                "linkage": linkage,
                "ahead": ahead,
                "writer": writer,
                "existing": existing,
                "seconds": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "rows_per_s": round(result.created / wall),
                "queries": queries[0],
                "queries_per_row": round(queries[0] / max(1, result.created), 3),
                "db_s": round(sum(by_statement.values()), 2),
                "db_top": {
                    k: round(v, 2)
                    for k, v in sorted(by_statement.items(), key=lambda kv: -kv[1])[:4]
                },
                "audit_verify": "ok" if chain is None else str(chain),
                "target_s_per_100k": 60,
                "s_per_100k": round(wall * 100_000 / max(1, result.created), 1),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--linkage", action="store_true")
    parser.add_argument("--ahead", choices=["on", "off", "both"], default="on")
    parser.add_argument("--writer", choices=["on", "off", "both"], default="on")
    parser.add_argument("--beside", action="store_true")
    parser.add_argument(
        "--kept-home", default=os.path.join(tempfile.gettempdir(), "jikimi-bench-actlist")
    )
    parser.add_argument("--kept-pg", default="bench_actlist")
    parser.add_argument("--org", default="bench-import")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        on = (args.ahead == "on", args.writer == "on")
        return run(args.rows, args.seed, args.profile, args.linkage, *on, args.org)
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    aheads = ["on", "off"] if args.ahead == "both" else [args.ahead]
    writers = ["on", "off"] if args.writer == "both" else [args.writer]
    for database in databases:
        for ahead, writer in [(a, w) for a in aheads for w in writers]:
            home = tempfile.mkdtemp(prefix="jikimi-bench-import-")
            env = {**os.environ, "JIKIMI_HOME": home}
            env.pop("DATABASE_URL", None)
            org = args.org
            if args.beside:
                kept = Path(args.kept_home) / database
                env["JIKIMI_KEYS"] = (kept / "bench-keys.json").read_text()
                org = "bench"
                if database == "sqlite":
                    for name in ("jikimi.sqlite3", "jikimi.sqlite3-wal"):
                        if (kept / name).exists():
                            shutil.copyfile(kept / name, Path(home) / name)
                    # The copy's 3.3 GB on disk before the clock starts: its write-back
                    # would otherwise run beside the import (runs of one build spread over
                    # 49–71 s without this).
                    os.sync()
            if database == "postgres":
                import psycopg

                template = f" TEMPLATE {args.kept_pg}" if args.beside else ""
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS bench_import WITH (FORCE)")
                    conn.execute(f"CREATE DATABASE bench_import{template}")
                    if args.beside:
                        # The copy went through the WAL: a checkpoint now, so that the
                        # import does not start in the middle of one (its first write to
                        # each page would then log the whole page).
                        conn.execute("CHECKPOINT")
                env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/bench_import"
            argv = [sys.executable, __file__, "--child", "--rows", str(args.rows)]
            argv += ["--org", org]
            argv += ["--seed", str(args.seed), "--ahead", ahead, "--writer", writer]
            argv += ["--profile"] * args.profile
            argv += ["--linkage"] * args.linkage
            try:
                subprocess.run(argv, env=env, check=True)
            finally:
                shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
