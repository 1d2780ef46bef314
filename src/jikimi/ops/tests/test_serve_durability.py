"""`jikimi serve` on SQLite loses nothing while other processes use the same file (issue 10).

The embedded server once corrupted its own database: the monitor ran as threads of the
process that then became gunicorn's master, and its SQLite connections crossed `fork()` into
the worker. Once the connection age (600 s) made the master reconnect, writes answered 201
vanished, tokens made by other processes were refused and a duress alert never came. This
test does what an operator does beside a live server — API writes, check-ins (some under
duress), `jikimi import`, `jikimi audit verify`, read-only connections, tokens from another
process — with a connection age of 1 s, past many reconnections and through worker
restarts (SIGKILL and SIGTERM). Then every write that was answered 2xx is in the file, the
file is intact, every duress check-in raised its alert, and no request answered 500.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from jikimi.core.keyring import KeyRing
from jikimi.notify.testing import SmtpSink, free_port

pytestmark = [pytest.mark.slow, pytest.mark.nodb]

RUN_SECONDS = 30
ENROLMENTS = 6


def _python(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _jikimi(env: dict, *args: str) -> subprocess.CompletedProcess:
    return _python(env, "-m", "jikimi.cli", *args)


def _fixture(env: dict, *args: str) -> dict:
    done = _python(env, "-m", "jikimi.ops.tests.serve_fixture", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _database_fds(pid: int, db: Path) -> list[str]:
    """The descriptors of `pid` open on the database file or its -wal/-shm."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(db)):
            found.append(target)
    return found


def _wait_until_serving(server: subprocess.Popen, base: str, seconds: float = 90) -> None:
    """Until GET /healthz answers "ok"; fails with the server's output if it exits first."""
    deadline = time.time() + seconds
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=2).text == "ok":
                return
        except requests.ConnectionError:
            pass
        assert server.poll() is None, server.stdout.read()
        assert time.time() < deadline, f"{' '.join(server.args[2:4])} did not start"
        time.sleep(0.2)


class Client:
    """What the server answered, kept for the checks at the end."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def record(self, what: str, status: int) -> None:
        with self.lock:
            self.statuses.append((what, status))

    def checkin(self, token: str, pin: str) -> int | None:
        """GET the pad, POST the PIN; the status, or None when the connection broke."""
        session = requests.Session()
        try:
            page = session.get(f"{self.base}/c/{token}", timeout=30)
            self.record("checkin-pad", page.status_code)
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            assert csrf, "no CSRF token on the check-in pad"
            answer = session.post(
                f"{self.base}/c/{token}",
                data={"pin": pin, "csrfmiddlewaretoken": csrf.group(1)},
                headers={"Referer": f"{self.base}/c/{token}", "Origin": self.base},
                timeout=30,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            self.record(f"checkin-broken {type(exc).__name__} at {time.monotonic():.1f}", 0)
            return None
        self.record("checkin", answer.status_code)
        return answer.status_code


@pytest.fixture
def served(tmp_path):
    """A `jikimi serve` on SQLite in a fresh home, with a short connection age."""
    smtp = SmtpSink()
    smtp.__enter__()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "JIKIMI_HOME": str(home),
        "JIKIMI_KEYS": KeyRing.generate().to_json(),
        "JIKIMI_SECRET_KEY": "durability-" * 5,
        "JIKIMI_TESTING": "1",
        # Connections are replaced every second: the onset of the old bug was this age.
        "JIKIMI_SQLITE_CONN_MAX_AGE": "1",
        "JIKIMI_SMTP_HOST": "127.0.0.1",
        "JIKIMI_SMTP_PORT": str(smtp.port),
    }
    env.pop("DATABASE_URL", None)
    env.pop("JIKIMI_TEST_DB_NAME", None)
    done = _jikimi(env, "init", "--org", "alpha")
    assert done.returncode == 0, done.stderr
    setup = _fixture(env, "setup", str(ENROLMENTS))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jikimi.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_until_serving(server, base)
    try:
        yield env, server, base, setup, home / "jikimi.sqlite3"
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=30)
        smtp.__exit__(None, None, None)


def _worker_pid(server: subprocess.Popen) -> int | None:
    for pid in _children(server.pid):
        if "monitor" not in _cmdline(pid):
            return pid
    return None


def test_it_loses_no_confirmed_write_beside_other_processes(served, tmp_path):
    env, server, base, setup, db = served
    client = Client(base)
    created: list[str] = []
    imported = 0
    duress_done: set[str] = set()
    failures: list[str] = []
    tokens = [setup["api_token"]]
    stop = time.monotonic() + RUN_SECONDS

    # The master (gunicorn's arbiter) never holds the database open: it forks the workers.
    assert _database_fds(server.pid, db) == []
    monitors = [p for p in _children(server.pid) if "monitor" in _cmdline(p)]
    assert len(monitors) == 1, "jikimi serve runs the monitor as its own process"

    def api_writes() -> None:
        i = 0
        while time.monotonic() < stop:
            i += 1
            try:
                answer = requests.post(
                    f"{base}/api/people/",
                    json={"name": f"Durable Kim {i}", "birth_year": 1980 + i % 20},
                    headers={"Authorization": f"Token {tokens[-1]}"},
                    timeout=30,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A worker being killed: not answered, so not promised.
                client.record(f"api-broken {type(exc).__name__} at {time.monotonic():.1f}", 0)
                continue
            client.record("api-create", answer.status_code)
            if answer.status_code == 201:
                created.append(answer.json()["code"])
            elif answer.status_code != 503:
                failures.append(f"API create answered {answer.status_code}: {answer.text[:200]}")

    def checkins() -> None:
        for n, enrolment in enumerate(setup["enrolments"]):
            while time.monotonic() < stop:
                # Half of the people check in under duress, once; all check in normally too.
                pin = "1397" if n % 2 == 0 and enrolment["id"] not in duress_done else "2580"
                status = client.checkin(enrolment["token"], pin)
                if status == 200:
                    if pin == "1397":
                        duress_done.add(enrolment["id"])
                    break
                time.sleep(0.2)
            time.sleep(RUN_SECONDS / (ENROLMENTS + 2))

    def operators() -> None:
        nonlocal imported
        k = 0
        while time.monotonic() < stop:
            k += 1
            csv = tmp_path / f"import-{k}.csv"
            csv.write_text(
                "record_id,source,name,birth_date,sex\n"
                + "".join(
                    f"I{k}-{j},ngo_list,Lee Ji Hyun {k}-{j},1985-03-0{1 + j},F\n" for j in range(3)
                ),
                encoding="utf-8",
            )
            done = _jikimi(env, "import", "people", str(csv), "--org", "alpha")
            if done.returncode == 0:
                imported += 3
            else:
                failures.append(f"import exit {done.returncode}: {done.stderr[-500:]}")
            done = _jikimi(env, "audit", "verify")
            if done.returncode != 0:
                failures.append(f"audit verify exit {done.returncode}: {done.stdout[-300:]}")
            # A read-only look at the file from yet another process.
            ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
            try:
                ro.execute("SELECT count(*) FROM people_person").fetchone()
            finally:
                ro.close()
            # A token made by another process must work at once.
            tokens.append(_fixture(env, "token")["api_token"])

    def restarts() -> None:
        for sig in (signal.SIGKILL, signal.SIGTERM):
            time.sleep(RUN_SECONDS / 3)
            pid = _worker_pid(server)
            if pid:
                kills.append(f"{sig.name} {pid} at {time.monotonic():.1f}")
                os.kill(pid, sig)

    def guarded(work):
        def run() -> None:
            try:
                work()
            except Exception as exc:  # noqa: BLE001 - reported below, with the others
                failures.append(f"{work.__name__}: {exc!r}")

        return run

    kills: list[str] = []
    threads = [
        threading.Thread(target=guarded(f)) for f in (api_writes, checkins, operators, restarts)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=RUN_SECONDS + 240)
    broken = [s for s in client.statuses if s[1] == 0]
    assert not failures, (failures[:5], kills, broken)

    # The duress alerts come from the monitor process within seconds.
    deadline = time.time() + 20
    while set(_fixture(env, "state")["duress"]) < duress_done and time.time() < deadline:
        time.sleep(0.5)
    assert _database_fds(server.pid, db) == []  # the master still holds nothing

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0 or server.returncode is not None
    output = server.stdout.read()
    assert "Traceback" not in output, output[-3000:]

    assert not [s for s in client.statuses if s[1] >= 500 and s[1] != 503], client.statuses
    assert created and duress_done and imported
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    state = _fixture(env, "state")
    missing = set(created) - set(state["people"])
    assert not missing, f"{len(missing)} people answered 201 are not in the file"
    assert len(state["people"]) >= ENROLMENTS + len(created) + imported
    assert duress_done <= set(state["duress"]), "a duress check-in raised no alert"
    assert _jikimi(env, "audit", "verify").returncode == 0


def test_jikimi_web_serves_with_no_connection_in_its_master(tmp_path):
    """Production's `jikimi web`: its system checks open the database; the master must
    close that before it forks the workers, or it refuses to fork (and serves nothing)."""
    home = tmp_path / "web"
    env = {
        **os.environ,
        "JIKIMI_HOME": str(home),
        "JIKIMI_KEYS": KeyRing.generate().to_json(),
        "JIKIMI_SECRET_KEY": "web-" * 12,
        "JIKIMI_TESTING": "1",
    }
    env.pop("DATABASE_URL", None)
    assert _jikimi(env, "init", "--skip-checks").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jikimi.cli", "web", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_serving(server, f"http://127.0.0.1:{port}")
        assert requests.get(f"http://127.0.0.1:{port}/accounts/login", timeout=10).ok
        assert _database_fds(server.pid, home / "jikimi.sqlite3") == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
