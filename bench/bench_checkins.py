"""Check-in benchmarks; each result is one JSON line on stdout (and in bench/out/).

    python bench/bench_checkins.py [monitor|latency|web|duress ...] [--postgres]

1. monitor  — one monitor pass over 100,000 enrolments with 1,000 due
              (targets: ≤ 1 s SQLite, ≤ 0.5 s PostgreSQL).
2. latency  — from grace expiry to the alert e-mail at a real SMTP server with
              `jikimi monitor` running (target p99 ≤ 5 s).
3. web      — check-in POSTs against `jikimi web` (gunicorn), 32 concurrent clients
              (targets ≥ 500/s, p95 ≤ 50 ms).
4. duress   — response time of duress vs normal check-ins, 500 each
              (target: difference of medians < 1 ms).
Each runs in a fresh JIKIMI_HOME (SQLite) or a fresh database `bench_checkins` on the
PostgreSQL server at PG_URL (--postgres).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
OUT = ROOT / "bench" / "out"


def emit(result: dict) -> None:
    line = json.dumps(result, ensure_ascii=False)
    print(line, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "bench_checkins.jsonl", "a") as fh:
        fh.write(line + "\n")


def prepare_environment(postgres: bool) -> dict:
    """Env for this process and its children: a fresh home, keys, and database."""
    from jikimi.core.keyring import KeyRing

    home = tempfile.mkdtemp(prefix="jikimi-bench-")
    env = {
        "JIKIMI_HOME": home,
        "JIKIMI_KEYS": KeyRing.generate().to_json(),
        "DJANGO_SETTINGS_MODULE": "jikimi.settings",
        "JIKIMI_SECRET_KEY": "bench-" * 8,
    }
    if postgres:
        import psycopg

        base = PG_URL.rsplit("/", 1)[0]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_checkins WITH (FORCE)")
            conn.execute("CREATE DATABASE bench_checkins")
        env["DATABASE_URL"] = f"{base}/bench_checkins"
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.update(env)
    return {**os.environ, **env}


def setup_django():
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_org(email_caseworker: bool = True):
    from jikimi.accounts.services import create_staff, ensure_organisation

    org = ensure_organisation("bench", "Bench")
    user, _ = create_staff(
        f"cw-{time.time_ns()}",
        "correct horse battery staple",
        org,
        "caseworker",
        email="cw@bench.example" if email_caseworker else "",
    )
    return org, user


def bench_monitor(db: str) -> None:
    from django.utils import timezone

    from jikimi.checkins.monitor import run_pass
    from jikimi.checkins.services import default_policy
    from jikimi.checkins.testing import make_enrolments

    org, user = make_org()
    now = timezone.now()
    make_enrolments(
        organisation=org,
        caseworker=user,
        policy=default_policy(org),
        total=100_000,
        due=1_000,
        now=now,
    )
    if db == "postgresql":
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    started = time.perf_counter()
    report = run_pass(now + timedelta(seconds=1))
    seconds = time.perf_counter() - started
    target = 0.5 if db == "postgresql" else 1.0
    emit(
        {
            "bench": "checkins.monitor_pass",
            "db": db,
            "enrolments": 100_000,
            "due": 1_000,
            "alerts": report.alerts,
            "messages": report.messages,
            "seconds": round(seconds, 3),
            "target_seconds": target,
            "ok": seconds <= target and report.alerts == 1_000,
        }
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _jikimi() -> str:
    return str(Path(sys.executable).with_name("jikimi"))


def bench_latency(db: str, env: dict, n: int = 200, spread: float = 20.0) -> None:
    """Enrolments whose grace runs out over `spread` seconds; `jikimi monitor` (default
    1 s interval) running in its own process; time from grace expiry to the e-mail."""
    from django.utils import timezone

    from jikimi.checkins.models import Enrolment
    from jikimi.checkins.services import default_policy
    from jikimi.checkins.testing import make_enrolments
    from jikimi.notify.testing import SmtpSink

    org, user = make_org()
    now = timezone.now()
    rows = make_enrolments(
        organisation=org,
        caseworker=user,
        policy=default_policy(org),
        total=n,
        due=0,
        now=now,
        grace_minutes=0,
    )
    expiry: dict[str, float] = {}
    start = now + timedelta(seconds=5)
    for i, row in enumerate(rows):
        t = start + timedelta(seconds=spread * i / n)
        Enrolment.objects.filter(pk=row.pk).update(next_due_at=t, next_action_at=t)
        expiry[row.person.code] = t.timestamp()
    with SmtpSink() as smtp:
        child_env = {**env, "JIKIMI_SMTP_HOST": "127.0.0.1", "JIKIMI_SMTP_PORT": str(smtp.port)}
        proc = subprocess.Popen([_jikimi(), "monitor"], env=child_env)
        try:
            smtp.wait_for(n, timeout=spread + 60)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        delays = []
        for msg, at in zip(smtp.messages, smtp.received_at, strict=True):
            code = msg["Subject"].rsplit(": ", 1)[-1].split(" ")[0]
            delays.append(at - expiry[code])
    p99 = _percentile(delays, 0.99)
    emit(
        {
            "bench": "checkins.alert_latency",
            "db": db,
            "alerts": len(delays),
            "p50_seconds": round(_percentile(delays, 0.5), 3),
            "p99_seconds": round(p99, 3),
            "max_seconds": round(max(delays), 3),
            "target_p99_seconds": 5.0,
            "ok": len(delays) == n and p99 <= 5.0,
        }
    )


def _web_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    import requests

    proc = subprocess.Popen(
        [
            _jikimi(),
            "web",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("jikimi web did not start")


def _enrolments_with_tokens(count: int) -> list[str]:
    from jikimi.checkins import services
    from jikimi.people import services as people

    org, user = make_org()
    tokens = []
    for i in range(count):
        person = people.create_person(user, name=f"벤치 {i}")
        people.record_consent(user, person, purpose="checkins", granted=True)
        result = services.enrol(user, person, interval_hours=24)
        tokens.append(services.set_pins(result.setup_token, "2580", "1397"))
    return tokens


class _Person:
    """One client: a keep-alive http.client connection with the CSRF cookie and token from a
    first GET. Deliberately light (no requests session, no thread pool machinery) so the
    load generator does not eat the CPU the server is measured on."""

    def __init__(self, base: str, token: str) -> None:
        import http.client
        import re
        from urllib.parse import urlsplit

        where = urlsplit(base)
        self.conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        self.path = f"/c/{token}"
        self.conn.request("GET", self.path)
        response = self.conn.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        self.csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        self.headers = {
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": base,
            "Referer": base + self.path,
        }

    def post(self, pin: str) -> float:
        from urllib.parse import urlencode

        body = urlencode({"pin": pin, "csrfmiddlewaretoken": self.csrf})
        started = time.perf_counter()
        self.conn.request("POST", self.path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"check-in answered {response.status}")
        return elapsed


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _recorded_checkins() -> dict[str, int]:
    from django.db import connection
    from django.db.models import Count

    from jikimi.checkins.models import CheckIn

    connection.close()  # a fresh read of what the server's processes committed
    return dict(CheckIn.objects.values_list("kind").annotate(n=Count("id")).order_by())


def bench_web(db: str, env: dict, clients: int = 32, per_client: int = 200) -> None:
    import threading

    from jikimi.notify.testing import free_port

    tokens = _enrolments_with_tokens(clients)
    port = free_port()
    # `jikimi web`'s defaults: two single-threaded workers per core.
    workers = int(os.environ.get("BENCH_WEB_WORKERS", max(2, 2 * (os.cpu_count() or 1))))
    threads = int(os.environ.get("BENCH_WEB_THREADS", 1))
    proc = _web_server(env, port, workers=workers, threads=threads)
    try:
        people_ = [_Person(f"http://127.0.0.1:{port}", t) for t in tokens]
        for p in people_:  # warm every worker
            p.post("2580")
        results: list[list[float]] = [[] for _ in people_]

        def run(i: int) -> None:
            results[i] = [people_[i].post("2580") for _ in range(per_client)]

        pool = [threading.Thread(target=run, args=(i,)) for i in range(len(people_))]
        server_cpu = _cpu_seconds(proc.pid)
        client_cpu = time.process_time()
        started = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = _cpu_seconds(proc.pid) - server_cpu
        latencies = [x for chunk in results for x in chunk]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rate = len(latencies) / seconds
    p95 = _percentile(latencies, 0.95) * 1000
    # Every answer looks the same whatever happened, so count what the server recorded.
    recorded = _recorded_checkins()
    expected = {"ok": len(latencies) + len(people_)}
    if recorded != expected:
        raise RuntimeError(f"the server recorded {recorded}, expected {expected}")
    emit(
        {
            "bench": "checkins.web_checkins",
            "recorded_ok_checkins": recorded["ok"],
            "db": db,
            "clients": clients,
            "requests": len(latencies),
            "gunicorn_workers": workers,
            "gunicorn_threads": threads,
            "client": "http.client, 1 thread per client (keep-alive where the server keeps it)",
            "per_second": round(rate, 1),
            "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
            "p95_ms": round(p95, 1),
            # Shares of the machine's CPU (cores × wall time) during the run.
            "client_cpu_share": round(client_cpu / ((os.cpu_count() or 1) * seconds), 3),
            "server_cpu_share": round(server_cpu / ((os.cpu_count() or 1) * seconds), 3),
            "server_cpu_ms_per_request": round(server_cpu * 1000 / len(latencies), 2),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "target_per_second": 500,
            "target_p95_ms": 50,
            "ok": rate >= 500 and p95 <= 50,
        }
    )


def bench_duress(db: str, env: dict, tries: int = 500) -> None:
    """Normal and duress check-ins interleaved on one enrolment, one at a time, against
    `jikimi web`: the medians must not differ by 1 ms or more."""
    from jikimi.notify.testing import free_port

    [token] = _enrolments_with_tokens(1)
    port = free_port()
    proc = _web_server(env, port, workers=1, threads=1)
    try:
        person = _Person(f"http://127.0.0.1:{port}", token)
        for _ in range(50):  # warm-up
            person.post("2580")
        normal, duress = [], []
        for i in range(tries * 2):
            # Alternate which goes first so drift (caches, WAL growth) hits both alike.
            first = "2580" if (i // 2) % 2 == 0 else "1397"
            pin = first if i % 2 == 0 else ("1397" if first == "2580" else "2580")
            (normal if pin == "2580" else duress).append(person.post(pin))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    diff = abs(statistics.median(duress) - statistics.median(normal)) * 1000
    emit(
        {
            "bench": "checkins.duress_timing",
            "db": db,
            "tries_each": tries,
            "median_normal_ms": round(statistics.median(normal) * 1000, 3),
            "median_duress_ms": round(statistics.median(duress) * 1000, 3),
            "difference_ms": round(diff, 3),
            "target_difference_ms": 1.0,
            "ok": diff < 1.0,
        }
    )


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    postgres = "--postgres" in argv
    names = [a for a in argv if not a.startswith("--")] or ["monitor", "latency", "web", "duress"]
    for name in names:
        # Each benchmark in a fresh process and database, so one's data cannot slow another.
        if len(names) > 1:
            subprocess.run(
                [sys.executable, __file__, name, *(["--postgres"] if postgres else [])], check=True
            )
            continue
        env = prepare_environment(postgres)
        setup_django()
        from django.db import connection

        bench = globals()[f"bench_{name}"]
        bench(connection.vendor) if name == "monitor" else bench(connection.vendor, env)


if __name__ == "__main__":
    main(sys.argv[1:])
