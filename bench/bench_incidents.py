"""Incident benchmarks: the filtered act list over many acts, and `jikimi import incidents`.
One JSON line per measurement.

    python bench/bench_incidents.py [--acts 1000000] [--import-rows 100000]
        [--database sqlite|postgres|both] [--only list|import] [--queries 200]

1. incidents.acts_list — GET /api/incidents/acts/ through the real HTTP stack (Django test
   client: middleware, token-less session with OTP, serialisers, audit writes) with a mix of
   the filters (act type, date range, place and places within it, within N km, perpetrator,
   reliability, source kind and both, victim, none), 50 a page, over `--acts` synthetic acts
   of one organisation (a tenth in another), bulk-loaded straight into the tables (a million
   with 300,000 victims took 23 min on PostgreSQL, 46 min on SQLite with a test run beside
   it, on 2 cores; `--reuse` keeps them, and tops up a stopped load)
   (target p95 ≤ 200 ms, reported per filter).
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


ACT_WEIGHTS = {  # realistic skew: arrests and repatriations dominate the reports
    "arrest": 26,
    "forced_repatriation": 22,
    "coerced_family_contact": 14,
    "disappearance": 9,
    "agent_approach": 8,
    "lure_offer": 6,
    "abduction": 5,
    "abduction_attempt": 4,
    "nk_media_appearance": 4,
    "claimed_voluntary_return": 2,
}
RELIABILITY_WEIGHTS = {"A": 3, "B": 15, "C": 30, "D": 20, "E": 7, "F": 25}


def _victims(org, count: int, *, seed: int) -> list:
    """`count` victims of `org` as an import makes them: synthetic person records (a name,
    often a Hangul name, birth date, sex, province) through the person-record reader and
    `people.services.create_people_bulk` (identities sealed, blind-index rows, source
    records, audit), so the tables an import writes to are full-sized beside the acts.
    Rows the reader refuses are dropped. Linkage is not run on them. Returns their ids."""
    from django.conf import settings
    from django.db import transaction

    from jikimi.linkage import synthetic
    from jikimi.people.importer import validate
    from jikimi.people.services import IdentityIndexer, create_people_bulk

    settings.JIKIMI_LINKAGE_ON_SAVE = False
    ids: list = []
    indexer = IdentityIndexer()
    records, _truth = synthetic.generate(count + count // 10, seed=seed, difficulty="typical")
    for i, record in enumerate(records):
        record["record_id"] = f"{org.slug}-{seed}-{i}"
        record["source"] = "bench"
    step = 20_000
    for start in range(0, len(records), step):
        rows, problems = validate(records[start : start + step])
        bad = {p.row for p in problems}
        rows = [r for r in rows if r["row"] not in bad][: count - len(ids)]
        with transaction.atomic():
            ids.extend(p.pk for p in create_people_bulk(rows, org, via="bench", indexer=indexer))
        print(f"victims {org.slug} {len(ids)}", file=sys.stderr, flush=True)
        if len(ids) >= count:
            break
    return ids


def _load(n_acts: int, rng: random.Random):
    """`n_acts` acts (nine tenths in the bench organisation, a tenth in another) in events of 1–3
    acts, bulk-inserted straight into the tables (no per-row services): the ten act types
    skewed, the whole gazetteer (places near the border more often), dates 2000–2026 (more
    recent more often), victims among n/3 people with identities and blind-index rows
    (`_victims`; up to 300,000; some victims in several acts), perpetrators and degrees (one per
    act; for 3% of events one more of the whole event), sources of every kind with Admiralty
    grades (1–2 per act)."""
    from django.db import transaction

    from jikimi.accounts.services import ensure_organisation
    from jikimi.core.codes import new_public_code, uuid7
    from jikimi.core.sql import bulk_write_cache
    from jikimi.incidents.models import Act, Event, Information, Involvement, Place, Source, Term
    from jikimi.incidents.summary import summaries
    from jikimi.people.models import Person

    org, other = ensure_organisation("bench"), ensure_organisation("other")
    n_people = min(300_000, max(100, n_acts // 3))
    # A top-up (--reuse after a stopped load) takes the victims already made.
    victims = {
        o.pk: list(Person.objects.filter(organisation=o).values_list("pk", flat=True))
        or _victims(o, count, seed=rng.randrange(1 << 30))
        for o, count in ((org, n_people * 9 // 10), (other, max(100, n_people // 10)))
    }
    terms = {
        v: list(Term.objects.filter(vocabulary=v))
        for v in ("act_type", "perpetrator", "involvement", "source_kind")
    }
    act_types = terms["act_type"]
    act_w = [ACT_WEIGHTS.get(t.code, 1) for t in act_types]
    perp_w = [
        {"state_security_department": 30, "chinese_public_security_bureau": 30}.get(t.code, 10)
        for t in terms["perpetrator"]
    ]
    places = list(Place.objects.all())
    place_w = [4 if p.country in ("CN", "KP") else 1 for p in places]
    grades, grade_w = list(RELIABILITY_WEIGHTS), list(RELIABILITY_WEIGHTS.values())
    sources = {}
    for o in (org, other):
        sources[o.pk] = []
        for kind in terms["source_kind"]:
            for _ in range(20):
                s = Source(organisation=o, kind=kind)
                s.save()
                sources[o.pk].append(s)
    codes = set(Event.objects.values_list("code", flat=True))
    start, span = dt.date(2000, 1, 1), (dt.date(2026, 11, 30) - dt.date(2000, 1, 1)).days
    done, batch = 0, 20000
    while done < n_acts:
        events, acts, invs, infos = [], [], [], []
        while len(acts) < batch and done + len(acts) < n_acts:
            o = org if rng.random() < 0.9 else other
            place = rng.choices(places, place_w)[0]
            day = start + dt.timedelta(days=int(span * rng.random() ** 0.6))
            precision = rng.choices(("day", "month", "year"), (6, 3, 1))[0]
            if precision == "day":
                first, last, text = day, day, day.isoformat()
            elif precision == "month":
                first = day.replace(day=1)
                last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
                text = first.isoformat()[:7]
            else:
                first, last, text = (
                    day.replace(month=1, day=1),
                    day.replace(month=12, day=31),
                    str(day.year),
                )
            dates = dict(date_start=first, date_end=last, date_precision=precision, date_text=text)
            # Time-ordered ids, as an import gives them (core.codes.uuid7).
            event = Event(
                id=uuid7(), organisation=o, place=place, lat=place.lat, lon=place.lon, **dates
            )
            event.title = "Synthetic event"
            while event.code in codes:  # a million random codes collide (~1 in 2 at 10^6)
                event.code = new_public_code("E")
            codes.add(event.code)
            events.append(event)
            if rng.random() < 0.03:  # a perpetrator of the whole event: all its acts
                invs.append(
                    Involvement(
                        event=event,
                        perpetrator=rng.choices(terms["perpetrator"], perp_w)[0],
                        degree=rng.choice(terms["involvement"]),
                    )
                )
            for _ in range(rng.choice((1, 1, 2, 3))):
                act = Act(
                    id=uuid7(),
                    event=event,
                    organisation=o,
                    victim_id=rng.choice(victims[o.pk]),
                    act_type=rng.choices(act_types, act_w)[0],
                    place=place,
                    lat=place.lat,
                    lon=place.lon,
                    **dates,
                )
                acts.append(act)
                invs.append(
                    Involvement(
                        event=event,
                        act=act,
                        perpetrator=rng.choices(terms["perpetrator"], perp_w)[0],
                        degree=rng.choice(terms["involvement"]),
                    )
                )
                for _ in range(rng.choice((1, 1, 1, 2))):
                    infos.append(
                        Information(
                            event=event,
                            act=act,
                            source=rng.choice(sources[o.pk]),
                            reliability=rng.choices(grades, grade_w)[0],
                            credibility=rng.choice("123456"),
                        )
                    )
        # The link summaries the services write (incidents/summary.py), from the same rows.
        found = summaries(
            ((a, a.event) for a in acts),
            ((i.event, i.act, i.perpetrator_id) for i in invs),
            ((i.event, i.act, i.source.kind_id, i.reliability) for i in infos),
        )
        for act in acts:
            for name, value in found[act].items():
                setattr(act, name, value)
        # SQLite's page cache as an import sets it (core.sql.bulk_write_cache): with the 2 MB
        # default the load slowed to 8,000 acts a minute past half a million.
        with transaction.atomic(), bulk_write_cache(1024):
            Event.objects.bulk_create(events, batch_size=5000)
            Act.objects.bulk_create(acts, batch_size=5000)
            Involvement.objects.bulk_create(invs, batch_size=5000)
            Information.objects.bulk_create(infos, batch_size=5000)
        done += len(acts)
        print(f"loaded {done}", file=sys.stderr, flush=True)
    return org


def run_list(n_acts: int, queries: int, reuse: bool) -> None:
    _setup()
    from django.db import connection
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.models import Organisation, User
    from jikimi.accounts.services import create_staff, totp_device
    from jikimi.incidents.models import Act, Place
    from jikimi.incidents.services import refresh_incident_statistics

    rng = random.Random(14)
    org = Organisation.objects.filter(slug="bench").first()
    load_s = 0.0
    # Kept (--reuse): loaded up to --acts in all, what a stopped load left is topped up.
    have = Act.objects.count() if reuse and org is not None else 0
    if have < n_acts * 0.99:
        t0 = time.perf_counter()
        org = _load(n_acts - have, random.Random(14 + have))
        load_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            # What autovacuum does after a bulk load (PostgreSQL 13+ vacuums insert-only
            # tables): the statistics, and the visibility map the index-only scans need.
            cur.execute("VACUUM ANALYZE")
    else:
        # SQLite: what an import leaves (its statistics from a limited ANALYZE), nothing more.
        refresh_incident_statistics()
    assert org is not None
    total_acts = Act.objects.count()
    user = User.objects.filter(username="bench-analyst").first()
    if user is None:
        user, _ = create_staff("bench-analyst", "bench password long", org, "caseworker")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()
    places = list(Place.objects.values_list("code", flat=True))
    victims = list(
        Act.objects.filter(organisation=org)
        .order_by("victim_id")
        .values_list("victim__code", flat=True)[: max(200, n_acts // 100)]
    )[:: max(1, n_acts // 20000)][:200]
    mixes = {
        "none": lambda: {},
        "act_type": lambda: {"act_type": rng.choice(["arrest", "abduction", "lure_offer"])},
        "dates": lambda: {"date_from": f"{rng.randint(2000, 2023)}-01", "date_to": "2024-12"},
        "place": lambda: {"place": rng.choice(places)},
        "within_km": lambda: {
            "near": rng.choice(places),
            "within_km": str(rng.choice([20, 50, 100])),
        },
        "perp+rel": lambda: {"perpetrator": "state_security_department", "reliability": "B"},
        "perpetrator": lambda: {"perpetrator": rng.choice(["broker", "unknown"])},
        "reliability": lambda: {"reliability": rng.choice("ABC")},
        "source_kind": lambda: {"source_kind": rng.choice(["ngo_list", "nk_media"])},
        "kind+rel": lambda: {
            "source_kind": rng.choice(["ngo_list", "nk_media"]),
            "reliability": "C",
        },
        "victim": lambda: {"victim": rng.choice(victims)},
        "combined": lambda: {
            "act_type": "arrest",
            "date_from": "2015",
            "near": "Yanji",
            "within_km": "80",
        },
    }
    names = list(mixes)
    urls = []
    for i in range(queries):
        kind = names[i % len(names)]
        params = mixes[kind]()
        # Pages and the API in turn; the first pages most often, a deep one now and then.
        # The page's form has no victim filter, and its place with a distance is "near".
        if (i // len(names)) % 2 and "victim" not in params:
            if "near" in params:
                params["place"] = params.pop("near")
            params["page"] = str(rng.choice([1, 1, 2, 11]))
            urls.append((kind, "page", "/incidents/", params))
        else:
            params["offset"] = str(rng.choice([0, 0, 50, 500]))
            urls.append((kind, "api", "/api/incidents/acts/", params))
    for _kind, _where, url, params in urls[:5]:
        client.get(url, params)
    times = []
    by: dict[str, list[float]] = {}
    for kind, where, url, params in urls:
        t = time.perf_counter()
        resp = client.get(url, params)
        ms = (time.perf_counter() - t) * 1000
        assert resp.status_code == 200, (url, params, resp.status_code, resp.content[:300])
        times.append(ms)
        by.setdefault(kind, []).append(ms)
        by.setdefault(where, []).append(ms)
    print(
        json.dumps(
            {
                "bench": "incidents.acts_list",
                "database": connection.vendor,
                "acts": total_acts,
                "requests": len(times),
                "load_s": round(load_s, 1),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "target_p95_ms": 200,
                "p95_by_filter_ms": {k: round(percentile(v, 0.95), 1) for k, v in by.items()},
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
    parser.add_argument("--queries", type=int, default=220)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--only", choices=["list", "import"])
    parser.add_argument("--child", choices=["list", "import"])
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the act-list database (PostgreSQL `bench_actlist`, SQLite in --home) "
        "between runs and load it only when it has no bench acts",
    )
    parser.add_argument(
        "--pg-name",
        default="bench_actlist",
        help="the kept PostgreSQL database of --reuse (one per worktree, if several run)",
    )
    parser.add_argument(
        "--home", default=os.path.join(tempfile.gettempdir(), "jikimi-bench-actlist")
    )
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ["JIKIMI_TESTING"] = "1"
    os.environ["JIKIMI_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if args.child == "list":
        return run_list(args.acts, args.queries, args.reuse)
    if args.child == "import":
        return run_import(args.import_rows)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for database in databases:
        for child in ("list", "import"):
            if args.only and args.only != child:
                continue
            env = {**os.environ, "JIKIMI_HOME": tempfile.mkdtemp(prefix="jikimi-bench-")}
            env.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
            env.pop("DATABASE_URL", None)
            kept = args.reuse and child == "list"
            if kept:
                # One home per backend, its key ring kept beside the database it encrypted.
                home = Path(args.home) / database
                home.mkdir(parents=True, exist_ok=True)
                keys = home / "bench-keys.json"
                if not keys.exists():
                    keys.write_text(KeyRing.generate().to_json())
                env["JIKIMI_HOME"], env["JIKIMI_KEYS"] = str(home), keys.read_text()
            if database == "postgres":
                import psycopg

                name = args.pg_name if kept else "bench_incidents"
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                    ).fetchone()
                    if not kept:
                        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                    if not kept or not exists:
                        conn.execute(f"CREATE DATABASE {name}")
                env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/" + name
            argv = [sys.executable, __file__, "--child", child, "--acts", str(args.acts)]
            argv += ["--import-rows", str(args.import_rows), "--queries", str(args.queries)]
            argv += ["--reuse"] if kept else []
            subprocess.run(argv, env=env, check=True)


if __name__ == "__main__":
    main()
