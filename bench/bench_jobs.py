"""The page flow of a long estimate as a background job; one JSON line on stdout.

    python bench/bench_jobs.py [--lists 5] [--postgres]

An analyst submits a BCa bootstrap estimate (500 replicates) on the estimates page, follows
its job page (the status fragment every second, as htmx polls it) and reads the result.
A real `jikimi monitor` runs the job in its own process, as `jikimi serve` does. The figure:
the longest single request of the flow (target < 2 s: no request waits for the numbers),
beside the time the job itself took, and apart, the first request of the fresh process (it
imports scipy and numba, once per web worker). Runs in a fresh JIKIMI_HOME (SQLite) or a fresh
database `bench_jobs` on the PostgreSQL server at PG_URL (--postgres).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
OUT = ROOT / "bench" / "out"
LIMIT_SECONDS = 2.0
TABLES = {3: "dga_madigan_york_3list.csv", 5: "dga_madigan_york_5list.csv"}


def emit(result: dict) -> None:
    line = json.dumps(result, ensure_ascii=False)
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "bench_jobs.jsonl", "a") as fh:
        fh.write(line + "\n")


def prepare_environment(postgres: bool) -> dict:
    sys.path.insert(0, str(ROOT / "src"))
    from jikimi.core.keyring import KeyRing

    env = {
        "JIKIMI_HOME": tempfile.mkdtemp(prefix="jikimi-bench-jobs-"),
        "JIKIMI_KEYS": KeyRing.generate().to_json(),
        "DJANGO_SETTINGS_MODULE": "jikimi.settings",
        "JIKIMI_SECRET_KEY": "bench-" * 8,
        "JIKIMI_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT / "src"),
    }
    if postgres:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_jobs WITH (FORCE)")
            conn.execute("CREATE DATABASE bench_jobs")
        env["DATABASE_URL"] = PG_URL.rsplit("/", 1)[0] + "/bench_jobs"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.update(env)
    return dict(os.environ)


def main(argv: list[str]) -> None:
    postgres = "--postgres" in argv
    k = int(argv[argv.index("--lists") + 1]) if "--lists" in argv else 5
    env = prepare_environment(postgres)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.services import create_staff, ensure_organisation, totp_device
    from jikimi.estimates.models import EstimateJob
    from jikimi.estimates.tests.mse_db import build

    org = ensure_organisation("bench", "Bench")
    analyst, _ = create_staff("analyst-bench", "correct horse battery staple", org, "analyst")
    built = build(org, TABLES[k])  # synthetic people from a published aggregate table
    client = Client()
    client.force_login(analyst)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(analyst).persistent_id
    session.save()

    monitor = subprocess.Popen(
        [str(Path(sys.executable).with_name("jikimi")), "monitor", "--no-deliver"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    timings: dict[str, list[float]] = {"form": [], "submit": [], "poll": [], "result": []}

    def timed(kind: str, call):
        start = time.perf_counter()
        response = call()
        timings[kind].append(time.perf_counter() - start)
        return response

    try:
        # A fresh process's first estimates request imports the numerical stack (scipy,
        # numba: seconds); a web worker pays that once, so it is reported on its own.
        cold_start = time.perf_counter()
        client.get("/estimates/")
        cold = time.perf_counter() - cold_start
        timed("form", lambda: client.get("/estimates/"))
        form = {"lists": built.lists, "method": "stepwise", "interval": "bootstrap"}
        started = time.perf_counter()
        response = timed("submit", lambda: client.post("/estimates/", form))
        assert response.status_code == 302, response.status_code
        page = response["Location"]
        assert "/estimates/jobs/" in page, page
        timed("poll", lambda: client.get(page))
        status = page + "status"
        while True:
            time.sleep(1.0)  # htmx: hx-trigger="every 1s"
            answer = timed("poll", lambda: client.get(status))
            if answer.get("HX-Refresh") == "true":
                break
            if time.perf_counter() - started > 1800:
                raise RuntimeError("the job did not finish in 30 minutes")
        job_seconds = time.perf_counter() - started
        body = timed("result", lambda: client.get(page)).content.decode()
        assert "estimate-result" in body, "no result on the job page"
    finally:
        monitor.terminate()
        monitor.wait(timeout=30)
    job = EstimateJob.objects.get()
    longest = max(t for ts in timings.values() for t in ts)
    emit(
        {
            "benchmark": "estimate_job_page_flow",
            "database": connection.vendor,
            "lists": k,
            "people": len(built.people),
            "interval": "BCa bootstrap, 500 replicates",
            "state": job.state,
            "requests": sum(len(ts) for ts in timings.values()),
            "longest_request_seconds": round(longest, 4),
            "longest_by_kind_seconds": {k: round(max(ts), 4) for k, ts in timings.items()},
            "job_seconds": round(job_seconds, 2),
            "cold_first_request_seconds": round(cold, 2),
            "limit_seconds": LIMIT_SECONDS,
            "within_limit": longest < LIMIT_SECONDS and job.state == "done",
        }
    )


if __name__ == "__main__":
    main(sys.argv[1:])
