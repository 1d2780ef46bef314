"""`jikimi estimate` runs without Django, and its `--help` without the numerical engine.

Real processes: `python -X importtime -m jikimi.cli …` lists every module the command
imported, and the help and errors are compared with the same command run through Django
(`--settings` sends it there), word for word. No timing here (bench/bench_startup.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import jikimi

SRC = Path(jikimi.__file__).resolve().parent.parent


def jikimi_process(tmp_path: Path, *args: str, importtime: bool = False):
    env = {**os.environ, "JIKIMI_HOME": str(tmp_path / "home"), "PYTHONPATH": str(SRC)}
    env["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
    env.pop("DJANGO_AUTO_COMPLETE", None)
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "jikimi.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    """The modules a `-X importtime` run imported (its stderr, minus the command's own)."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    return names


def top_level(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "three.csv"
    path.write_text(
        "A,B,C,count\n1,0,0,60\n0,1,0,49\n0,0,1,4\n1,1,0,247\n1,0,1,112\n0,1,1,142\n1,1,1,12\n"
    )
    return path


def test_estimate_help_imports_neither_django_nor_the_engine(tmp_path):
    proc = jikimi_process(tmp_path, "estimate", "--help", importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage: jikimi estimate" in proc.stdout
    modules = imported(proc.stderr)
    assert "jikimi.estimates.command" in modules  # the parse really ran in this process
    assert not top_level(modules) & {"django", "numpy", "scipy", "numba"}
    assert not (tmp_path / "home").exists()  # no JIKIMI_HOME made for a file command


def test_estimate_on_a_file_runs_without_django(tmp_path, table):
    proc = jikimi_process(tmp_path, "estimate", str(table), "--json", importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported(proc.stderr)
    assert "jikimi.estimates.loglinear" in modules
    assert "django" not in top_level(modules)
    assert '"method": "stepwise"' in proc.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],  # the path is missing: argparse's usage error, exit 2
        ["{table}", "--method", "nope"],
        ["{missing}"],  # CommandError naming the file, exit 2
        ["{table}", "--no-color", "--force-color"],
    ],
    ids=["help", "no-path", "bad-method", "missing-file", "colours"],
)
def test_without_django_it_answers_as_the_django_command(tmp_path, table, args):
    args = [a.format(table=table, missing=tmp_path / "missing.csv") for a in args]
    fast = jikimi_process(tmp_path, "estimate", *args)
    django = jikimi_process(tmp_path, "estimate", *args, "--settings", "jikimi.settings")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        django.returncode,
        django.stdout,
        django.stderr,
    )
    assert fast.stdout or fast.stderr  # each answers something


def test_help_estimate_is_its_help(tmp_path):
    assert jikimi_process(tmp_path, "help", "estimate").stdout == (
        jikimi_process(tmp_path, "estimate", "--help").stdout
    )


@pytest.mark.parametrize(
    "args", [[], ["help"], ["--help"], ["-h"]], ids=["bare", "help", "long", "h"]
)
def test_the_list_of_commands_needs_no_django_setup(tmp_path, args):
    proc = jikimi_process(tmp_path, *args, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported(proc.stderr)
    assert "jikimi.settings" in modules  # INSTALLED_APPS was read in this process
    # Neither Django's management commands, its ORM nor any app (none was set up).
    assert not modules & {"django.core.management", "django.db.models", "jikimi.ops.apps"}
    # Django's own list (`--settings` sends `help` through Django's setup), word for word.
    django = jikimi_process(tmp_path, "help", "--settings", "jikimi.settings")
    assert proc.stdout == django.stdout
    assert "[estimates]\n    estimate\n" in proc.stdout and "    monitor\n" in proc.stdout


HEAVY = {"pandas", "numpy", "scipy", "numba", "splink", "duckdb"}


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    proc = jikimi_process(tmp_path, "init")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp_path


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (["monitor", "--once"], "processed 0, alerts 0, messages queued 0, sent 0"),
        (["audit", "verify"], "audit chain intact"),
    ],
    ids=["monitor-once", "audit-verify"],
)
def test_operator_commands_import_no_numerical_stack(initialised, args, answer):
    proc = jikimi_process(initialised, *args, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert answer in proc.stdout
    modules = imported(proc.stderr)
    # (The passes' own modules come through importlib.import_module, which -X importtime does
    # not list; what they import with `import` it does: on main the estimates pass brought
    # numpy, SciPy and numba in here.)
    assert not top_level(modules) & HEAVY, sorted(top_level(modules) & HEAVY)
    assert not {"jikimi.urls", "jikimi.cases.urls"} & modules  # no system checks ran


def test_one_off_estimate_imports_no_numba(tmp_path, table):
    proc = jikimi_process(tmp_path, "estimate", str(table), "--json", importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = imported(proc.stderr)
    assert "jikimi.estimates.loglinear" in modules
    assert not top_level(modules) & {"numba", "django"}
    assert not modules & {"scipy.stats", "scipy.optimize"}


def jikimi_commands() -> list[str]:
    """Every command of the project's own apps (as `jikimi --help` finds them)."""
    return sorted(
        path.stem
        for path in SRC.glob("jikimi/*/management/commands/*.py")
        if not path.stem.startswith("_")
    )


@pytest.mark.parametrize("command", jikimi_commands())
def test_no_command_help_imports_the_numerical_stack(tmp_path, command):
    """`jikimi link --help` imported pandas, NumPy and Splink (0.74 s) only to show a default:
    no command's help (nor its parser, so a mistyped option) may import the engines."""
    proc = jikimi_process(tmp_path, command, "--help", importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"usage: jikimi {command}" in proc.stdout
    assert not top_level(imported(proc.stderr)) & HEAVY, sorted(
        top_level(imported(proc.stderr)) & HEAVY
    )


def test_the_command_runs_with_the_garbage_collector_on(initialised):
    """Start-up runs without cyclic collection (cli._no_gc_until_setup); the command itself
    (a monitor running for months) must not. What start-up made is frozen: many more objects
    in the permanent generation than a bare interpreter has there."""
    probe = "import gc; print(gc.isenabled(), gc.get_freeze_count())"
    bare = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    proc = jikimi_process(initialised, "shell", "-c", probe)
    assert proc.returncode == 0, proc.stderr[-2000:]
    enabled, frozen = proc.stdout.splitlines()[-1].split()  # after the shell's own line
    assert enabled == "True"
    assert int(frozen) > 10 * int(bare.stdout.split()[1]), (frozen, bare.stdout)
