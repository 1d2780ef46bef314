"""Protection cases: work-list latency and the monitor's deadline pass. One JSON line each.

    BENCH_CASES=100000 BENCH_CASE_ACTIONS=10 BENCH_DB=postgres python bench/bench_cases.py

- `BENCH_CASES` (default 2,000) cases in one organisation, spread over 20 workers, each with
  one open deadline (so N open deadlines), `BENCH_CASE_ACTIONS` actions per case (default 2;
  10 gives the issue's 1,000,000 actions at 100,000 cases), family contacts on half of them.
- `BENCH_DB`: `sqlite` (default; a temporary JIKIMI_HOME) or `postgres` (a scratch database
  on 127.0.0.1:5432, created and dropped here).
- `cases.lists`: p50/p95 of each work list (services, audit rows included) over
  `BENCH_QUERIES` calls (default 50) at random pages.
- `cases.deadline_pass`: one monitor pass over the N open deadlines when none is due (the
  steady state: the partial index finds nothing) and when `BENCH_DUE` of them (default 100)
  are due (claimed and alerted, one transaction).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def child() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from jikimi.accounts.services import create_staff, ensure_organisation
    from jikimi.cases import monitor, services
    from jikimi.cases.models import Action, Case, Deadline, FamilyContact
    from jikimi.people.models import Person

    n = int(os.environ.get("BENCH_CASES", "2000"))
    per_case = int(os.environ.get("BENCH_CASE_ACTIONS", "2"))
    queries = int(os.environ.get("BENCH_QUERIES", "50"))
    due = int(os.environ.get("BENCH_DUE", "100"))
    call_command("init", verbosity=0, stdout=open(os.devnull, "w"))
    org = ensure_organisation("bench")
    workers = [
        create_staff(f"w{i}", "bench password long", org, "caseworker")[0] for i in range(20)
    ]
    supervisor, _ = create_staff("sup", "bench password long", org, "supervisor")
    rng = random.Random(15)
    now = timezone.now()
    statuses = ["reported", "located", "detained", "at_risk_of_repatriation", "unknown"]
    t0 = time.perf_counter()
    batch = 2000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        people = [Person(organisation=org, birth_year=rng.randint(1950, 2005)) for _ in range(size)]
        cases, deadlines, actions, contacts = [], [], [], []
        for i, person in enumerate(people):
            created = now - timedelta(days=rng.randint(0, 400))
            case = Case(
                organisation=org,
                person=person,
                kind="detained",
                status=rng.choice(statuses),
                responsible=workers[(start + i) % len(workers)],
                status_changed_at=created,
                last_family_contact_at=(
                    created + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.5 else None
                ),
            )
            case.notes = "구금 장소 확인 중 (synthetic)"
            cases.append(case)
            deadlines.append(
                Deadline(
                    case=case,
                    organisation=org,
                    kind="review",
                    due_at=now + timedelta(minutes=rng.randint(60, 60 * 24 * 60)),
                    set_by="rule",
                )
            )
            for _ in range(per_case):
                action = Action(case=case, date=created.date(), channel="unhcr")
                action.description = "UNHCR 요청 (synthetic)"
                actions.append(action)
            if case.last_family_contact_at:
                contact = FamilyContact(case=case, at=case.last_family_contact_at, how="phone")
                contact.what_was_told = "진행 상황 안내 (synthetic)"
                contacts.append(contact)
        with transaction.atomic():
            Person.objects.bulk_create(people)
            Case.objects.bulk_create(cases)
            Deadline.objects.bulk_create(deadlines)
            Action.objects.bulk_create(actions, batch_size=5000)
            FamilyContact.objects.bulk_create(contacts)
    # created_at is auto_now_add: spread the cases' ages after the insert.
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("UPDATE cases_case SET created_at = status_changed_at")
        else:
            cur.execute("UPDATE cases_case SET created_at = status_changed_at")
        cur.execute("ANALYZE")
    load_s = time.perf_counter() - t0

    def measure(name: str, call) -> dict:
        times = []
        for _ in range(queries):
            t = time.perf_counter()
            call()
            times.append((time.perf_counter() - t) * 1000)
        return {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }

    def page() -> int:
        return rng.choice([0, 0, 0, 50, 100, 500])

    lists = {
        "my_cases": measure(
            "my_cases", lambda: services.my_cases(rng.choice(workers), offset=page())
        ),
        "deadlines_this_week": measure(
            "deadlines", lambda: services.deadlines_this_week(supervisor, offset=page())
        ),
        "no_family_contact_14d": measure(
            "contact", lambda: services.no_family_contact_for(supervisor, days=14, offset=page())
        ),
        "supervisor_overview": measure(
            "overview", lambda: services.supervisor_overview(supervisor, offset=page())
        ),
    }
    print(
        json.dumps(
            {
                "bench": "cases.lists",
                "database": connection.vendor,
                "cases": n,
                "actions": n * per_case,
                "load_s": round(load_s, 1),
                "queries_each": queries,
                **lists,
                "p95_max_ms": max(v["p95_ms"] for v in lists.values()),
            }
        ),
        flush=True,
    )

    t = time.perf_counter()
    idle = monitor.run_deadlines()
    idle_s = time.perf_counter() - t
    ids = list(Deadline.objects.order_by("?").values_list("pk", flat=True)[:due])
    Deadline.objects.filter(pk__in=ids).update(due_at=now - timedelta(minutes=5))
    t = time.perf_counter()
    report = monitor.run_deadlines()
    due_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "bench": "cases.deadline_pass",
                "database": connection.vendor,
                "open_deadlines": n,
                "idle_pass_s": round(idle_s, 4),
                "due": due,
                "alerts": report.alerts + idle.alerts,
                "due_pass_s": round(due_s, 3),
            }
        ),
        flush=True,
    )


def main() -> None:
    from jikimi.core.keyring import KeyRing

    os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())
    os.environ["JIKIMI_TESTING"] = "1"
    if "--child" in sys.argv:
        return child()
    database = os.environ.get("BENCH_DB", "sqlite")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "JIKIMI_HOME": home}
        env.pop("DATABASE_URL", None)
        # BENCH_PG_NAME: another scratch database, when several runs share the server.
        name = os.environ.get("BENCH_PG_NAME", "jikimi_bench_cases")
        if database == "postgres":
            import psycopg

            with psycopg.connect(
                "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
            ) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                conn.execute(f"CREATE DATABASE {name}")
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
        try:
            subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)
        finally:
            if database == "postgres":
                with psycopg.connect(
                    "postgres://postgres@127.0.0.1:5432/postgres", autocommit=True
                ) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
