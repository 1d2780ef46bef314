"""Person search and list latency with 100,000 people (each 2–3 identities), field
encryption throughput, and an import with in-app linkage. One JSON line per measurement.

    python bench/bench_people.py [--people 100000] [--database sqlite|postgres|both]
        [--only search|import] [--import-people 2000]

SQLite runs in a temporary JIKIMI_HOME; PostgreSQL uses a scratch database on
127.0.0.1:5432 (created and dropped here). Latency is measured through the real HTTP stack
(Django test client: middleware, authentication, OTP, templates/serialisers, audit writes).

The import benchmark (`people.import`; `--import-people N`, or `BENCH_PEOPLE_IMPORT=N`, 0
skips it) imports N synthetic records of `jikimi.linkage.synthetic` ("typical", seed
`BENCH_PEOPLE_SEED`, default 2024) into an empty organisation with `importer.import_people`,
then links them as the on-commit hook does (`linkage.services.link_people`, one batch), and
reports wall and CPU seconds of each step, milliseconds and SQL queries per person linked.
"""

from __future__ import annotations

import argparse
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


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_one(database: str, people: int, queries: int) -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.services import create_staff, ensure_organisation, totp_device
    from jikimi.core import crypto
    from jikimi.lib.korean import index_keys
    from jikimi.people.demo import _names
    from jikimi.people.models import Identity, IdentityIndex, Person

    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))
    org = ensure_organisation("bench")
    other = ensure_organisation("other")
    user, _ = create_staff("bench-worker", "bench password long", org, "caseworker")

    rng = random.Random(7)
    t0 = time.perf_counter()
    batch = 2000
    sample_names: list[str] = []
    for start in range(0, people, batch):
        persons, idents, index = [], [], []
        for i in range(start, min(people, start + batch)):
            names = _names(rng)
            p = Person(
                organisation=org if i % 10 else other,
                birth_year=rng.randint(1950, 2005),
                sex=rng.choice("MF"),
            )
            p.display_name = names["hangul"]
            persons.append(p)
            values = [("name", names["hangul"]), ("name", names[rng.choice(["rr", "mr", "north"])])]
            if rng.random() < 0.5:
                values.append(("phone", f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"))
            for kind, value in values:
                ident = Identity(person=p, kind=kind, is_primary=value == names["hangul"])
                ident.value = value
                idents.append(ident)
                digests = (
                    {crypto.blind_index("name", k) for k in index_keys(value)}
                    if kind == "name"
                    else {crypto.blind_index("phone", value.replace("-", ""))}
                )
                index += [
                    IdentityIndex(
                        identity=ident, person=p, organisation_id=p.organisation_id, digest=d
                    )
                    for d in digests
                ]
            if i % 997 == 0 and p.organisation_id == org.pk:
                sample_names.append(names[rng.choice(["rr", "popular", "mr", "north"])])
        # EncryptedTextField encrypts in pre_save, which bulk_create calls too.
        with transaction.atomic():
            Person.objects.bulk_create(persons)
            Identity.objects.bulk_create(idents)
            IdentityIndex.objects.bulk_create(index, batch_size=5000)
    load_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()

    def measure(name: str, urls: list[str]) -> None:
        for url in urls[:5]:
            client.get(url)  # warm caches
        times, found = [], 0
        for url in urls:
            t = time.perf_counter()
            resp = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert resp.status_code == 200, (url, resp.status_code)
            if b'"count":0' not in resp.content:
                found += 1
        print(
            json.dumps(
                {
                    "bench": f"people.{name}",
                    "database": connection.vendor,
                    "people": people,
                    "requests": len(urls),
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(percentile(times, 0.95), 2),
                    "target_p95_ms": 150,
                    "nonempty_results": found,
                }
            ),
            flush=True,
        )

    queries_list = [sample_names[i % len(sample_names)] for i in range(queries)]
    from urllib.parse import quote

    measure("search_api", [f"/api/people/?q={quote(q)}" for q in queries_list])
    measure(
        "list_api",
        [f"/api/people/?offset={rng.randint(0, people // 2)}&limit=50" for _ in range(queries)],
    )
    from django.urls import NoReverseMatch, reverse

    try:
        list_url = reverse("people:list")
        measure("search_page", [f"{list_url}?q={quote(q)}" for q in queries_list])
        measure(
            "list_page",
            [f"{list_url}?page={rng.randint(1, people // 100)}" for _ in range(queries)],
        )
    except NoReverseMatch:
        pass
    print(
        json.dumps(
            {
                "bench": "people.load",
                "database": connection.vendor,
                "people": people,
                "identities": Identity.objects.count(),
                "seconds": round(load_s, 1),
            }
        ),
        flush=True,
    )


def run_import(records: int) -> None:
    """Import `records` synthetic records, then link them in one batch (as after the commit)."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from jikimi.accounts.services import ensure_organisation
    from jikimi.linkage import services as linkage
    from jikimi.linkage import synthetic
    from jikimi.people import importer
    from jikimi.people.models import Person

    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))
    org = ensure_organisation("bench-import")
    seed = int(os.environ.get("BENCH_PEOPLE_SEED", "2024"))
    rows, _truth = synthetic.generate(records, seed=seed, difficulty="typical")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "records.csv"
        synthetic.write_records(rows, path)
        # Rows the importer would refuse (an unparseable date…) are left out, not fixed.
        clean, problems = importer.validate(importer.read_rows(path))
        bad = {p.row for p in problems}
        kept = [r for i, r in enumerate(rows, start=2) if i not in bad]
        synthetic.write_records(kept, path)
        settings.JIKIMI_LINKAGE_ON_SAVE = False  # linked below, measured on its own
        wall, cpu = time.perf_counter(), time.process_time()
        result = importer.import_people(path, org)
        import_wall, import_cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result.created == len(kept) and not result.problems, result.problems[:3]
    ids = list(
        Person.objects.filter(organisation=org)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        wall, cpu = time.perf_counter(), time.process_time()
        outcome = linkage.link_people(ids)
        link_wall, link_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        json.dumps(
            {
                "bench": "people.import",
                "database": connection.vendor,
                "records": len(kept),
                "import_s": round(import_wall, 2),
                "import_cpu_s": round(import_cpu, 2),
                "link_s": round(link_wall, 2),
                "link_cpu_s": round(link_cpu, 2),
                "link_ms_per_person": round(1000 * link_wall / max(1, len(ids)), 2),
                "queries_per_person": round(queries[0] / max(1, len(ids)), 1),
                "linked": len(outcome.linked),
                "queued": len(outcome.queued),
                "dropped": outcome.dropped,
            }
        ),
        flush=True,
    )


def crypto_throughput() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from jikimi.core import crypto

    aad = crypto.associated_data("people_identity", "value", "0f8e1c2a-0000-4000-8000-000000000000")
    n = 50_000
    t = time.perf_counter()
    sealed = [crypto.encrypt("이지현 Lee Ji-hyun", aad) for _ in range(n)]
    enc = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for s in sealed:
        crypto.decrypt(s, aad)
    dec = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(n):
        crypto.blind_index("name", f"key{i}")
    idx = n / (time.perf_counter() - t)
    print(
        json.dumps(
            {
                "bench": "crypto.field",
                "encrypt_per_s": round(enc),
                "decrypt_per_s": round(dec),
                "blind_index_per_s": round(idx),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--import-people", type=int, default=int(os.environ.get("BENCH_PEOPLE_IMPORT", "2000"))
    )
    parser.add_argument("--only", choices=["search", "import"])
    parser.add_argument("--child", choices=["sqlite", "postgres", "crypto", "import"])
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    os.environ["JIKIMI_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if args.child == "crypto":
        return crypto_throughput()
    if args.child == "import":
        return run_import(args.import_people)
    if args.child:
        return run_one(args.child, args.people, args.queries)
    base = [sys.executable, __file__, "--people", str(args.people), "--queries", str(args.queries)]
    base += ["--import-people", str(args.import_people)]
    if args.only != "import":
        subprocess.run([*base, "--child", "crypto"], check=True)
    targets = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    children = ["search"] if args.only != "import" else []
    if args.only != "search" and args.import_people:
        children.append("import")
    for target, child in [(t, c) for t in targets for c in children]:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "JIKIMI_HOME": home}
            env.pop("DATABASE_URL", None)
            if target == "postgres":
                import psycopg

                name = "jikimi_bench_people"
                with psycopg.connect(
                    "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
                ) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")
                    conn.execute(f"CREATE DATABASE {name}")
                env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
            try:
                mode = target if child == "search" else "import"
                subprocess.run([*base, "--child", mode], env=env, check=True)
            finally:
                if target == "postgres":
                    with psycopg.connect(
                        "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
                    ) as conn:
                        conn.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
