"""People search with one typing error (issue #13): latency, index size, recall and false
positives with 100,000 synthetic people. One JSON line per database.

    python bench/bench_search.py [--people 100000] [--queries 300] [--database sqlite|postgres|both]

Each person has two name identities: the Hangul name and one romanised spelling (RR,
McCune–Reischauer, the North's or a popular one), with names drawn as the linkage generator
draws them (`jikimi.linkage.synthetic`: surnames by frequency, given names of one or two of
its syllables). Queries are made from people of the searching organisation: a spelling
(Hangul or any romanisation) with one typing error in the given name — a letter dropped,
doubled, substituted or two swapped; in Hangul one jamo replaced — and, apart, with two.

Reported: `search_p95_ms`/`p50` through the real HTTP stack (`GET /api/people/?q=`); the
index rows per name identity (exact and typo keys) and, on SQLite, the bytes of the index
table and its index per identity; `recall_one_typo` (the intended person is in the results);
`close_per_query` (close matches a query shows); `false_positive_rate` (close matches whose
name is not the intended one, among all close matches); `key_candidates_per_query` and
`key_false_positive_rate` (people sharing a typo key with the query, and the share of them
that the check on the decrypted name rejects: what the keys alone would have shown);
`found_two_typos` (the intended person found from a spelling two typing errors away).
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
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("rr", "mr", "north", "popular")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _romanised(surname: str, given: str, system: str) -> str:
    from jikimi.lib import korean
    from jikimi.linkage import synthetic

    sur = "".join(korean.romanise_syllables(surname, system)).capitalize()
    if system == "popular":
        sur = synthetic.POPULAR_SURNAME.get(surname, sur)
    syllables = korean.romanise_syllables(given, system)
    if system == "north":
        return f"{sur} " + " ".join(s.capitalize() for s in syllables)
    return f"{sur} " + "-".join(syllables).capitalize()


def _latin_typo(rng: random.Random, name: str) -> str:
    """One typing error in the given name (after the surname's space)."""
    start = name.index(" ") + 1
    # Not the given name's first letter (people rarely mistype it), unless it is all there is.
    letters = [i for i in range(start + 1, len(name)) if name[i].isalpha()] or [start]
    i = rng.choice(letters)
    kind = rng.random()
    if kind < 0.3:
        return name[:i] + name[i + 1 :]
    if kind < 0.5:
        return name[:i] + name[i] + name[i:]
    if kind < 0.75 and i + 1 < len(name) and name[i + 1].isalpha() and name[i + 1] != name[i]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    letter = rng.choice([c for c in "aeiouyngkhsmrtjlcp" if c != name[i].lower()])
    return name[:i] + letter + name[i + 1 :]


def _hangul_typo(rng: random.Random, name: str) -> str:
    """One jamo of the given name replaced (a key slip on a two-set keyboard)."""
    at = rng.randrange(1, len(name))
    index = ord(name[at]) - 0xAC00
    parts = [index // 588, (index % 588) // 28, index % 28]
    which = rng.randrange(3)
    sizes = (19, 21, 28)
    parts[which] = rng.choice([v for v in range(sizes[which]) if v != parts[which]])
    syllable = chr(0xAC00 + (parts[0] * 21 + parts[1]) * 28 + parts[2])
    return name[:at] + syllable + name[at + 1 :]


def _typo(rng: random.Random, name: str) -> str:
    from jikimi.lib import korean

    return _hangul_typo(rng, name) if korean.is_hangul(name) else _latin_typo(rng, name)


def run_one(database: str, people: int, queries: int) -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.services import create_staff, ensure_organisation, totp_device
    from jikimi.lib.fuzzy_names import typo_keys
    from jikimi.lib.korean import index_keys
    from jikimi.linkage import synthetic
    from jikimi.people import services
    from jikimi.people.models import Identity, IdentityIndex, Person

    uuid_db = Identity._meta.pk.get_db_prep_value  # how this database stores a UUID
    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))
    org = ensure_organisation("bench")
    other = ensure_organisation("other")
    user, _ = create_staff("bench-worker", "bench password long", org, "caseworker")

    rng = random.Random(13)
    t0 = time.perf_counter()
    batch = 2000
    name_of: dict[str, str] = {}  # person code → Hangul name
    sample: list[tuple[str, str, str]] = []  # (code, Hangul name, romanised spelling)
    exact_rows = typo_rows = identities = 0
    for start in range(0, people, batch):
        persons, idents, index = [], [], []
        for i in range(start, min(people, start + batch)):
            surname = rng.choices(synthetic.SURNAMES, synthetic.SURNAME_WEIGHTS)[0]
            length = 1 if rng.random() < 0.08 else 2
            given = "".join(rng.choice(synthetic.GIVEN_SYLLABLES) for _ in range(length))
            hangul = surname + given
            latin = _romanised(surname, given, rng.choice(SYSTEMS))
            p = Person(organisation=org if i % 10 else other, birth_year=rng.randint(1950, 2005))
            p.display_name = hangul
            persons.append(p)
            for value in (hangul, latin):
                ident = Identity(person=p, kind="name", is_primary=value == hangul)
                ident.value = value
                idents.append(ident)
                digests = services._index_digests("name", value)
                exact_rows += len(index_keys(value))
                typo_rows += len(typo_keys(value))
                identities += 1
                ident_id = uuid_db(ident.pk, connection)
                person_id = uuid_db(p.pk, connection)
                index += [(ident_id, person_id, p.organisation_id, d) for d in digests]
            if p.organisation_id == org.pk:
                name_of[p.code] = hangul
                if len(sample) < 4 * queries and rng.random() < 0.05:
                    sample.append((p.code, hangul, latin))
        # The index rows (most of the load) by plain executemany: the ORM's bulk_create
        # spends longer building 50,000 objects than the database spends storing them.
        with transaction.atomic(), connection.cursor() as cur:
            Person.objects.bulk_create(persons)
            Identity.objects.bulk_create(idents)
            cur.executemany(
                f"INSERT INTO {IdentityIndex._meta.db_table} "  # noqa: S608 - the model's table
                "(identity_id, person_id, organisation_id, digest) VALUES (%s, %s, %s, %s)",
                index,
            )
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    index_bytes = None
    if connection.vendor == "sqlite":
        try:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'people_identityindex%'"
                )
                index_bytes = cur.fetchone()[0]
        except Exception:  # dbstat not compiled in
            index_bytes = None
    else:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('people_identityindex')")
            index_bytes = cur.fetchone()[0]

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()

    chosen = rng.sample(sample, min(queries, len(sample)))
    one = [(code, _typo(rng, rng.choice([h, latin])), h) for code, h, latin in chosen]
    two = []
    for code, hangul, latin in chosen:
        text = rng.choice([hangul, latin])
        twice = _typo(rng, _typo(rng, text))
        two.append((code, twice, hangul))
    for _code, q, _h in one[:5]:
        client.get(f"/api/people/?q={quote(q)}")  # warm caches
    times: list[float] = []
    found = close_total = close_wrong = candidates = 0
    for code, q, hangul in one:
        t = time.perf_counter()
        resp = client.get(f"/api/people/?q={quote(q)}&limit=50")
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, (q, resp.status_code)
        rows = resp.json()["results"]
        found += any(r["code"] == code for r in rows)
        close = [r for r in rows if r["match"] == "close"]
        close_total += len(close)
        close_wrong += sum(name_of.get(r["code"]) != hangul for r in close)
        candidates += (
            IdentityIndex.objects.filter(
                digest__in=services._typo_query_digests(q), organisation_id=org.pk
            )
            .values("person_id")
            .distinct()
            .count()
        )
    found_two = 0
    for code, q, _hangul in two:
        rows = client.get(f"/api/people/?q={quote(q)}&limit=50").json()["results"]
        found_two += any(r["code"] == code for r in rows)
    n = len(one)
    print(
        json.dumps(
            {
                "bench": "people.search_typos",
                "database": connection.vendor,
                "people": people,
                "name_identities": identities,
                "queries": n,
                "search_p50_ms": round(statistics.median(times), 2),
                "search_p95_ms": round(percentile(times, 0.95), 2),
                "index_rows_per_name": round((exact_rows + typo_rows) / identities, 1),
                "exact_keys_per_name": round(exact_rows / identities, 1),
                "typo_keys_per_name": round(typo_rows / identities, 1),
                "index_bytes_per_name": round(index_bytes / identities) if index_bytes else None,
                "recall_one_typo": round(found / n, 3),
                "close_per_query": round(close_total / n, 2),
                "false_positive_rate": round(close_wrong / close_total, 3) if close_total else 0,
                "key_candidates_per_query": round(candidates / n, 2),
                "key_false_positive_rate": (
                    round(1 - close_total / candidates, 3) if candidates else 0
                ),
                "found_two_typos": round(found_two / n, 3),
                "load_s": round(load_s, 1),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--child", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    os.environ["JIKIMI_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    if args.child:
        return run_one(args.child, args.people, args.queries)
    base = [sys.executable, __file__, "--people", str(args.people), "--queries", str(args.queries)]
    for target in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "JIKIMI_HOME": home}
            env.pop("DATABASE_URL", None)
            name = "jikimi_bench_search"
            if target == "postgres":
                import psycopg

                with psycopg.connect(
                    "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
                ) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")
                    conn.execute(f"CREATE DATABASE {name}")
                env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
            try:
                subprocess.run([*base, "--child", target], env=env, check=True)
            finally:
                if target == "postgres":
                    with psycopg.connect(
                        "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
                    ) as conn:
                        conn.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
