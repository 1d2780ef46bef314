"""Incident benchmarks: the filtered act list over many acts, and `jikimi import incidents`.
One JSON line per measurement.

    python bench/bench_incidents.py [--acts 1000000] [--import-rows 100000]
        [--database sqlite|postgres|both] [--only list|import] [--queries 200]

1. incidents.acts_list — GET /api/incidents/acts/ through the real HTTP stack (Django test
   client: middleware, token-less session with OTP, serialisers, audit writes) with a mix of
   the filters (act type, date range, place and places within it, within N km, perpetrator,
   reliability, none), 50 a page, over `--acts` synthetic acts of one organisation (a tenth in
   another) (target p95 ≤ 200 ms).
2. incidents.import — `importer.import_incidents` of a generated CSV of `--import-rows` rows
   (one to three acts an event, a new victim per row) into an empty organisation, linkage on
   save off (the people bench measures linkage) (target ≤ 60 s for 100,000 rows).

SQLite runs in a temporary JIKIMI_HOME; PostgreSQL in a scratch database `bench_incidents`
on 127.0.0.1:5432 (created here).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _setup():
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from django.core.management import call_command

    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))


def _load(n_acts: int, rng: random.Random):
    """`n_acts` acts in events of 1–3 acts, victims among bare people (a tenth of everything
    in another organisation), bulk-inserted (titles still encrypted, by pre_save)."""
    from django.db import transaction

    from jikimi.accounts.services import ensure_organisation
    from jikimi.incidents.models import Act, Event, Information, Involvement, Place, Source, Term
    from jikimi.people.testing import make_people

    org, other = ensure_organisation("bench"), ensure_organisation("other")
    victims = {o.pk: make_people(o, max(100, n_acts // 100)) for o in (org, other)}
    terms = {
        v: list(Term.objects.filter(vocabulary=v))
        for v in ("act_type", "perpetrator", "involvement", "source_kind")
    }
    places = list(Place.objects.all())
    sources = {}
    for o in (org, other):
        sources[o.pk] = []
        for kind in terms["source_kind"]:
            s = Source(organisation=o, kind=kind)
            s.save()
            sources[o.pk].append(s)
    start = dt.date(2010, 1, 1)
    done, batch = 0, 5000
    while done < n_acts:
        events, acts, invs, infos = [], [], [], []
        while len(acts) < batch and done + len(acts) < n_acts:
            o = org if rng.random() < 0.9 else other
            place = rng.choice(places)
            day = start + dt.timedelta(days=rng.randrange(15 * 365))
            event = Event(
                organisation=o,
                date_start=day,
                date_end=day,
                date_precision="day",
                date_text=day.isoformat(),
                place=place,
                lat=place.lat,
                lon=place.lon,
            )
            event.title = "Synthetic event"
            events.append(event)
            for _ in range(rng.choice((1, 1, 2, 3))):
                act = Act(
                    event=event,
                    organisation=o,
                    victim=rng.choice(victims[o.pk]),
                    act_type=rng.choice(terms["act_type"]),
                    date_start=day,
                    date_end=day,
                    date_precision="day",
                    date_text=day.isoformat(),
                    place=place,
                    lat=place.lat,
                    lon=place.lon,
                )
                acts.append(act)
                invs.append(
                    Involvement(
                        event=event,
                        act=act,
                        perpetrator=rng.choice(terms["perpetrator"]),
                        degree=rng.choice(terms["involvement"]),
                    )
                )
                infos.append(
                    Information(
                        event=event,
                        act=act,
                        source=rng.choice(sources[o.pk]),
                        reliability=rng.choice("ABCDEF"),
                        credibility=rng.choice("123456"),
                    )
                )
        with transaction.atomic():
            Event.objects.bulk_create(events)
            Act.objects.bulk_create(acts)
            Involvement.objects.bulk_create(invs)
            Information.objects.bulk_create(infos)
        done += len(acts)
    return org


def run_list(n_acts: int, queries: int) -> None:
    _setup()
    from django.db import connection
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.services import create_staff, totp_device
    from jikimi.incidents.models import Place

    rng = random.Random(14)
    t0 = time.perf_counter()
    org = _load(n_acts, rng)
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    user, _ = create_staff("bench-analyst", "bench password long", org, "caseworker")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    places = list(Place.objects.values_list("code", flat=True))
    mixes = [
        lambda: {},
        lambda: {"act_type": rng.choice(["arrest", "abduction", "forced_repatriation"])},
        lambda: {"date_from": f"{rng.randint(2010, 2023)}-01", "date_to": "2024-12"},
        lambda: {"place": rng.choice(places)},
        lambda: {"near": rng.choice(places), "within_km": str(rng.choice([20, 50, 100]))},
        lambda: {"perpetrator": "state_security_department", "reliability": "B"},
        lambda: {"act_type": "arrest", "date_from": "2015", "near": "Yanji", "within_km": "80"},
    ]
    urls = []
    for i in range(queries):
        params = mixes[i % len(mixes)]()
        params["offset"] = str(rng.choice([0, 0, 50, 500]))
        urls.append(params)
    for params in urls[:5]:
        client.get("/api/incidents/acts/", params)
    times = []
    by_kind: dict[int, list[float]] = {}
    for i, params in enumerate(urls):
        t = time.perf_counter()
        resp = client.get("/api/incidents/acts/", params)
        ms = (time.perf_counter() - t) * 1000
        assert resp.status_code == 200, (params, resp.status_code, resp.content[:200])
        times.append(ms)
        by_kind.setdefault(i % len(mixes), []).append(ms)
    print(
        json.dumps(
            {
                "bench": "incidents.acts_list",
                "database": connection.vendor,
                "acts": n_acts,
                "requests": len(times),
                "load_s": round(load_s, 1),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "target_p95_ms": 200,
                "p95_by_filter_ms": {
                    ["none", "act_type", "dates", "place", "within_km", "perp+rel", "combined"][
                        k
                    ]: round(percentile(v, 0.95), 1)
                    for k, v in sorted(by_kind.items())
                },
            }
        ),
        flush=True,
    )


def _write_csv(path: Path, rows: int, rng: random.Random) -> None:
    from jikimi.incidents.importer import COLUMNS
    from jikimi.lib import gazetteer
    from jikimi.linkage import synthetic

    people, _truth = synthetic.generate(rows, seed=2024, difficulty="typical")
    acts = [t.code for t in gazetteer.terms("act_type")]
    perps = [t.code for t in gazetteer.terms("perpetrator")]
    degrees = [t.code for t in gazetteer.terms("involvement")]
    kinds = [t.code for t in gazetteer.terms("source_kind")]
    names = [p.en for p in gazetteer.places()] + [p.ko for p in gazetteer.places()]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        event, left = 0, 0
        for i, person in enumerate(people):
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
                    "victim_record_id": f"V{i}",
                    "victim_name": person.get("name", "") or "Kim Chol",
                    "victim_name_hangul": person.get("name_hangul", ""),
                    "victim_birth_date": person.get("birth_date", ""),
                    "victim_sex": person.get("sex", ""),
                    "victim_province": person.get("province", ""),
                    "perpetrator": rng.choice(perps),
                    "involvement": rng.choice(degrees),
                    "source": rng.choice(kinds),
                    "source_reliability": rng.choice("ABCDEF"),
                    "information_credibility": rng.choice("123456"),
                    "title": "Synthetic event",
                    "description": "",
                }
            )


def run_import(rows: int) -> None:
    _setup()
    from django.conf import settings
    from django.db import connection

    from jikimi.accounts.services import ensure_organisation
    from jikimi.incidents import importer
    from jikimi.people.importer import read_rows
    from jikimi.people.importer import validate as validate_people

    org = ensure_organisation("bench-import")
    rng = random.Random(8)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "incidents.csv"
        _write_csv(path, rows, rng)
        # Synthetic person rows the person-record reader refuses are dropped, not fixed.
        data = read_rows(path, required=importer.REQUIRED, optional=importer.OPTIONAL)
        as_people = [
            {
                "record_id": r["victim_record_id"],
                "source": "x",
                "name": r["victim_name"],
                "name_hangul": r["victim_name_hangul"],
                "birth_date": r["victim_birth_date"],
                "sex": r["victim_sex"],
                "province": r["victim_province"],
            }
            for r in data
        ]
        bad = {p.row for p in validate_people(as_people)[1]}
        kept = [r for i, r in enumerate(data, start=2) if i not in bad]
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(importer.COLUMNS))
            writer.writeheader()
            writer.writerows(kept)
        settings.JIKIMI_LINKAGE_ON_SAVE = False
        wall, cpu = time.perf_counter(), time.process_time()
        result = importer.import_incidents(path, org)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert not result.problems, [str(p) for p in result.problems[:3]]
    print(
        json.dumps(
            {
                "bench": "incidents.import",
                "database": connection.vendor,
                "rows": result.created,
                "seconds": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "rows_per_s": round(result.created / wall),
                "target_s_per_100k": 60,
                "s_per_100k": round(wall * 100_000 / max(1, result.created), 1),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--acts", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--only", choices=["list", "import"])
    parser.add_argument("--child", choices=["list", "import"])
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    os.environ["JIKIMI_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if args.child == "list":
        return run_list(args.acts, args.queries)
    if args.child == "import":
        return run_import(args.import_rows)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for database in databases:
        for child in ("list", "import"):
            if args.only and args.only != child:
                continue
            env = {**os.environ, "JIKIMI_HOME": tempfile.mkdtemp(prefix="jikimi-bench-")}
            env.pop("DATABASE_URL", None)
            if database == "postgres":
                import psycopg

                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute("DROP DATABASE IF EXISTS bench_incidents WITH (FORCE)")
                    conn.execute("CREATE DATABASE bench_incidents")
                env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/bench_incidents"
            argv = [sys.executable, __file__, "--child", child, "--acts", str(args.acts)]
            argv += ["--import-rows", str(args.import_rows), "--queries", str(args.queries)]
            subprocess.run(argv, env=env, check=True)


if __name__ == "__main__":
    main()
