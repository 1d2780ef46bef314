"""Time to ready of `jikimi` commands, as whole processes; prints one JSON line.

Run: ``.venv/bin/python bench/bench_startup.py [RUNS]`` (default 7 runs of each, after one
warm-up). Each figure is the wall time from starting the process to its exit, min and median
over the runs, and the CPU seconds each used (what a busy machine inflates least);
``python -c pass`` is timed the same way in turn with them (the interpreter's
own start, and how busy the machine is), and so is ``django.setup()`` of a project with only
Django's contrib apps (Django's own floor, which no `jikimi` command that opens the database
can go under). Issue #12 item 14: any command ready in ≤ 0.5 s on a
quiet machine; a restarted monitor doing its first pass within 1 s.

The commands: `jikimi --help`, `jikimi estimate --help`, `jikimi estimate FILE --json` on a
small published table (shared/data/mse), `jikimi monitor --once` and `jikimi audit verify` on
a freshly initialised, empty JIKIMI_HOME (SQLite). "jikimi monitor: first pass" is a
restarted monitor: the wall time from starting `jikimi monitor` (the loop) to the log line it
writes when its first pass is done, and the CPU seconds of the whole process (stopped with
SIGTERM on that line).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("JIKIMI_SHARED", ROOT / ".." / "shared")).resolve()
TABLE = SHARED / "data" / "mse" / "dga_madigan_york_3list.csv"
LIMIT_SECONDS = 0.5
MONITOR_LIMIT_SECONDS = 1.0
BARE_SETTINGS = """SECRET_KEY = "bench"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "{db}"}}}}
"""


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from start to exit, and the CPU seconds (user + system) the process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def monitor_back(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds from starting `jikimi monitor` to its "first pass done" line, and the CPU
    seconds the process used (it is stopped by SIGTERM on that line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert proc.stderr is not None
    seen = []
    for raw in proc.stderr:
        line = raw.decode(errors="replace")
        seen.append(line)
        if "first pass done" in line:
            break
    seconds = time.perf_counter() - start
    proc.send_signal(signal.SIGTERM)
    proc.stderr.read()
    proc.wait(timeout=60)
    if not seen or "first pass done" not in seen[-1]:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {''.join(seen)[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    home = Path(tempfile.mkdtemp(prefix="jikimi-bench-startup-"))
    try:
        measure(runs, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def measure(runs: int, home: Path) -> None:
    env = {**os.environ, "JIKIMI_HOME": str(home), "PYTHONPATH": str(ROOT / "src")}
    # PYTHONDONTWRITEBYTECODE too: an installed jikimi has its bytecode (pip compiles it, `make
    # run` runs compileall); without it every run would compile ~90 modules of its own.
    for name in (
        "DATABASE_URL",
        "JIKIMI_KEYS",
        "DJANGO_SETTINGS_MODULE",
        "JIKIMI_TESTING",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    # The yardstick: Django's own set-up with only its contrib apps, no project code.
    (home / "bare_settings.py").write_text(BARE_SETTINGS.format(db=home / "bare.sqlite3"))
    jikimi = [sys.executable, "-m", "jikimi.cli"]
    subprocess.run([*jikimi, "init"], env=env, capture_output=True, check=True)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "django.setup(), contrib apps only": [
            "env",
            f"PYTHONPATH={home}",
            "DJANGO_SETTINGS_MODULE=bare_settings",
            sys.executable,
            "-c",
            "import django; django.setup()",
        ],
        "jikimi --help": [*jikimi, "--help"],
        "jikimi estimate --help": [*jikimi, "estimate", "--help"],
        "jikimi estimate FILE --json": [*jikimi, "estimate", str(TABLE), "--json"],
        "jikimi monitor --once": [*jikimi, "monitor", "--once"],
        "jikimi audit verify": [*jikimi, "audit", "verify"],
        "jikimi monitor: first pass": [*jikimi, "monitor", "--interval", "1"],
    }
    how = {name: monitor_back if "first pass" in name else timed for name in commands}
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for name, argv in commands.items():
        how[name](argv, env)  # warm-up: the file cache, compiled bytecode
    for _ in range(runs):  # in turn, so a busy spell touches every command alike
        for name, argv in commands.items():
            wall, used = how[name](argv, env)
            times[name].append(wall)
            cpu[name].append(used)
    figures = {
        name: {
            "min": round(min(t), 3),
            "median": round(statistics.median(t), 3),
            "cpu_min": round(min(cpu[name]), 3),
            "cpu_median": round(statistics.median(cpu[name]), 3),
        }
        for name, t in times.items()
    }
    line = {
        "benchmark": "startup",
        "runs": runs,
        "seconds": figures,
        "limit_seconds": LIMIT_SECONDS,
        "monitor_limit_seconds": MONITOR_LIMIT_SECONDS,
        "table": TABLE.name,
    }
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
