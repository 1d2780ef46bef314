"""`jikimi backup` and `jikimi restore` through the real command line, on real databases."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from jikimi.core.keyring import KeyRing
from jikimi.ops import backup as backups

JIKIMI = str(Path(sys.executable).parent / "jikimi")
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
# Distinctive synthetic people: the needles the ciphertext-only test looks for.
PEOPLE = [("탁윤슬", "010-9876-5432"), ("Pyon Harim", "010-3141-5926")]

# One xdist worker takes this module: its tests share the seeded install (module fixtures).
pytestmark = pytest.mark.xdist_group("backup")

on_postgres = os.environ.get("DATABASE_URL", "").startswith("postgres")
sqlite_only = pytest.mark.skipif(on_postgres, reason="these runs use SQLite in a JIKIMI_HOME")

SEED = """
import django, json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.accounts.models import Organisation, User
from jikimi.accounts.services import create_staff
from jikimi.people import services
user = User.objects.filter(username="w").first() or create_staff(
    "w", "a long enough password", Organisation.objects.get(slug="alpha"), "caseworker")[0]
codes = {}
for name, phone in json.loads(sys.argv[1]):
    p = services.create_person(user, name=name, notes="backup test")
    services.add_identity(user, p, kind="phone", value=phone)
    codes[p.code] = [name, phone]
print(json.dumps(codes))
"""

READ = """
import django, json, os
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.accounts.models import User
from jikimi.people import services
from jikimi.people.models import Person
user = User.objects.get(username="w")
out = {}
for code in Person.objects.values_list("code", flat=True):
    person = services.get_person(user, code)
    values = {i["kind"]: i["value"] for i in services.identities_of(user, person)}
    out[code] = [values["name"], values["phone"]]
print(json.dumps(out))
"""

# Creates people until the file named by argv[1] exists; prints "ready" after the first one.
WRITER = """
import django, os, sys
from pathlib import Path
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.accounts.models import User
from jikimi.people import services
user = User.objects.get(username="w")
n = 0
while not Path(sys.argv[1]).exists():
    p = services.create_person(user, name=f"Writer {n}")
    services.add_identity(user, p, kind="phone", value=f"010-5555-{n:04d}")
    n += 1
    if n == 1:
        print("ready", flush=True)
print(n, flush=True)
"""


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("JIKIMI_KEYS", "DATABASE_URL")}
    return {**env, "JIKIMI_HOME": str(home), "JIKIMI_TESTING": "1", **extra}


def jikimi(home: Path, command: str, *args: str, checks: bool = False, **extra):
    """`jikimi COMMAND ARGS` in a process of its own, on the install in `home`.

    Without `checks`, with --skip-checks: Django's system checks import every view (pandas,
    SciPy, numba: seconds per process) and are the same for every command; the seeded
    install's `init` runs them.
    """
    argv = [JIKIMI, command, *([] if checks else ["--skip-checks"]), *args]
    return subprocess.run(
        argv, env=_env(home, **extra), capture_output=True, text=True, timeout=120
    )


def python(home: Path, script: str, *args: str, **extra) -> str:
    run = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=_env(home, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def fresh_home(tmp_path: Path, source: Path, name: str = "restored") -> Path:
    """A new install with the same key file and no database (the machine a backup goes to)."""
    home = tmp_path / name
    home.mkdir(mode=0o700)
    shutil.copy2(source / "keys.json", home / "keys.json")
    return home


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """An install with two people, and a backup of it: (home, backup path, codes)."""
    if on_postgres:
        pytest.skip("these runs use SQLite in a JIKIMI_HOME")
    root = tmp_path_factory.mktemp("backup")
    home = root / "home"
    assert jikimi(home, "init", "--org", "alpha", checks=True).returncode == 0
    codes = json.loads(python(home, SEED, json.dumps(PEOPLE)))
    backup = root / "jikimi.backup"
    run = jikimi(home, "backup", str(backup))
    assert run.returncode == 0, run.stderr
    assert "k1" in run.stdout and "back up keys.json" in run.stdout
    return home, backup, codes


@pytest.fixture(scope="module")
def initialised(seeded, tmp_path_factory):
    """A new install with the seeded install's key file, after `jikimi init` (no people)."""
    home, _backup, _codes = seeded
    new = fresh_home(tmp_path_factory.mktemp("initialised"), home)
    assert jikimi(new, "init").returncode == 0
    return new


@sqlite_only
def test_it_round_trips_people_through_backup_and_restore(seeded, tmp_path):
    home, backup, codes = seeded
    assert backup.stat().st_mode & 0o777 == 0o600
    with tarfile.open(backup) as tar:
        assert sorted(tar.getnames()) == ["database.sqlite3", "manifest.json"]
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["vendor"] == "sqlite" and manifest["key_ids"] == ["k1"]
    assert "people.0001_initial" in manifest["migrations"]
    # No secret of the key file is in the backup (only the key ids are named).
    ring = json.loads((home / "keys.json").read_text())
    secrets = [*ring["keys"].values(), ring["index"], ring["pepper"]]
    assert not any(secret.encode() in backup.read_bytes() for secret in secrets)
    assert set(manifest) == {
        "format",
        "jikimi_version",
        "vendor",
        "created_at",
        "migrations",
        "key_ids",
        "snapshot",
        "evidence",
    }

    new = fresh_home(tmp_path, home)
    run = jikimi(new, "restore", str(backup))
    assert run.returncode == 0, run.stderr
    assert "people: 2" in run.stdout and "audit chain: ok" in run.stdout
    assert json.loads(python(new, READ)) == codes
    verify = jikimi(new, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


@sqlite_only
def test_it_keeps_only_ciphertext_in_the_backup(seeded):
    """The backup file's bytes hold no name or phone digits, in UTF-8 or UTF-16."""
    _home, backup, _codes = seeded
    blob = backup.read_bytes()
    assert b"people_identity" in blob  # the snapshot is really in there, uncompressed
    for name, phone in PEOPLE:
        for needle in (name, name.split()[-1], phone, phone.replace("-", "")[3:]):
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                assert needle.encode(encoding) not in blob, (needle, encoding)
    assert b'"pepper"' not in blob and b'"index"' not in blob  # no key ring either


@sqlite_only
def test_it_refuses_to_overwrite_a_file(seeded):
    home, backup, _codes = seeded
    before = backup.read_bytes()
    run = jikimi(home, "backup", str(backup))
    assert run.returncode == 2 and "already exists" in run.stderr
    assert backup.read_bytes() == before


@sqlite_only
def test_it_refuses_to_restore_over_data_without_force(seeded, tmp_path):
    home, backup, codes = seeded
    target = tmp_path / "live"
    shutil.copytree(home, target)
    python(target, SEED, json.dumps([("Extra Person", "010-0000-1111")]))
    db = target / "jikimi.sqlite3"
    run = jikimi(target, "restore", str(backup))
    assert run.returncode == 2
    assert "holds data (3 people" in run.stderr and "--force" in run.stderr
    assert len(json.loads(python(target, READ))) == 3  # unchanged

    run = jikimi(target, "restore", "--force", str(backup))
    assert run.returncode == 0, run.stderr
    assert json.loads(python(target, READ)) == codes
    saved = list((target / "backups").glob("before-restore-*"))
    assert len(saved) == 1 and "saved the current data" in run.stdout
    # Nothing lost: the replaced data comes back from the automatic backup.
    again = jikimi(target, "restore", "--force", str(saved[0]))
    assert again.returncode == 0, again.stderr
    assert len(json.loads(python(target, READ))) == 3
    assert db.exists()


def test_a_second_restore_in_the_same_second_saves_to_a_new_name(tmp_path):
    """The automatic backup before a forced restore is named by the second; a second
    restore within it (this file's restore test, run fast) must not be refused for it."""
    from jikimi.ops.backup import free_path

    stem = "before-restore-20261204T201846"
    assert free_path(tmp_path, stem) == tmp_path / f"{stem}.jikimi-backup"
    (tmp_path / f"{stem}.jikimi-backup").write_bytes(b"x")
    assert free_path(tmp_path, stem) == tmp_path / f"{stem}-2.jikimi-backup"
    (tmp_path / f"{stem}-2.jikimi-backup").write_bytes(b"x")
    assert free_path(tmp_path, stem) == tmp_path / f"{stem}-3.jikimi-backup"


@sqlite_only
@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "manifest"])
def test_it_refuses_a_damaged_backup_and_changes_nothing(seeded, initialised, tmp_path, damage):
    _home, backup, _codes = seeded
    bad = tmp_path / "bad.backup"
    data = bytearray(backup.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF  # inside the snapshot
    elif damage == "truncate":
        data = data[: len(data) * 2 // 3]
    elif damage == "garbage":
        data = bytearray(b"not a backup at all" * 100)
    else:
        at = data.index(b'"sha256": "') + len(b'"sha256": "')
        data[at : at + 4] = b"0000"
    bad.write_bytes(bytes(data))
    new = tmp_path / "restored"
    shutil.copytree(initialised, new)
    db = new / "jikimi.sqlite3"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    run = jikimi(new, "restore", str(bad))
    assert run.returncode == 2, run.stderr
    assert str(bad) in run.stderr
    expected = {"flip": "checksum", "truncate": "damaged", "garbage": "not a Jikimi backup"}
    assert expected.get(damage, "checksum") in run.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@sqlite_only
def test_it_names_missing_key_ids_and_changes_nothing(seeded, tmp_path):
    _home, backup, _codes = seeded
    new = tmp_path / "nokey"
    new.mkdir()
    other = KeyRing.generate()
    ring = KeyRing("k7", {"k7": other.keys["k1"]}, other.index, other.pepper)
    run = jikimi(new, "restore", str(backup), JIKIMI_KEYS=ring.to_json())
    assert run.returncode == 1
    assert "k1" in run.stderr and "restore keys.json from your backup" in run.stderr
    assert not (new / "jikimi.sqlite3").exists() or "people_person" not in _tables(new)


@sqlite_only
def test_it_detects_a_new_key_file_with_the_same_key_id(seeded, tmp_path):
    """`jikimi init` on a new machine makes a new k1; the restore must not pass for fine."""
    _home, backup, _codes = seeded
    new = tmp_path / "newkey"
    assert jikimi(new, "init").returncode == 0
    run = jikimi(new, "restore", str(backup))
    assert run.returncode == 1
    assert "not the key this data was written with" in run.stderr
    assert "restore keys.json from your backup" in run.stderr


@sqlite_only
def test_it_takes_a_consistent_backup_while_another_process_writes(seeded, tmp_path):
    home, _backup, _codes = seeded
    live = tmp_path / "live"
    shutil.copytree(home, live)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(stop)],
        env=_env(live),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        backups = []
        for i in range(2):
            path = tmp_path / f"during-{i}.backup"
            run = jikimi(live, "backup", str(path))
            assert run.returncode == 0, run.stderr
            backups.append(path)
            time.sleep(0.1)
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert int(out.split()[-1]) > 1
    counts = []
    for path in backups:
        with tarfile.open(path) as tar:
            tar.extract("database.sqlite3", tmp_path / path.stem, filter="data")
        snap = sqlite3.connect(tmp_path / path.stem / "database.sqlite3")
        assert snap.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        people = snap.execute("SELECT count(*) FROM people_person").fetchone()[0]
        phones = snap.execute(
            "SELECT count(*) FROM people_identity WHERE kind = 'phone'"
        ).fetchone()[0]
        created = snap.execute(
            "SELECT count(*) FROM audit_auditevent WHERE action = 'person.create'"
        ).fetchone()[0]
        head = snap.execute("SELECT last_id FROM audit_audithead").fetchone()[0]
        last = snap.execute("SELECT max(id) FROM audit_auditevent").fetchone()[0]
        snap.close()
        # Each person and its audit row commit together; the phone right after: a snapshot
        # from one moment has every person's audit row and at most one phone missing.
        assert people == created and head == last
        assert people - 1 <= phones <= people
        counts.append(people)
    assert counts == sorted(counts) and counts[-1] > 2
    new = fresh_home(tmp_path, live)
    run = jikimi(new, "restore", str(backups[-1]))
    assert run.returncode == 0, run.stderr
    assert "audit chain: ok" in run.stdout and f"people: {counts[-1]}" in run.stdout


def _tables(home: Path) -> set[str]:
    conn = sqlite3.connect(home / "jikimi.sqlite3")
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_it_says_when_pg_dump_is_missing(monkeypatch):
    monkeypatch.setattr(backups.shutil, "which", lambda name: None)
    with pytest.raises(backups.BackupError, match="pg_dump is not installed") as exc:
        backups._pg_tool("pg_dump")
    assert exc.value.returncode == 1


def test_it_refuses_a_pg_dump_older_than_the_server():
    backups.check_tool_version("pg_dump", "pg_dump (PostgreSQL) 15.20 (Debian)", 150020)
    backups.check_tool_version("pg_dump", "pg_dump (PostgreSQL) 17.2", 150020)
    with pytest.raises(backups.BackupError, match=r"pg_dump 14.1 is older .*\(16\)") as exc:
        backups.check_tool_version("pg_dump", "pg_dump (PostgreSQL) 14.1", 160004)
    assert exc.value.returncode == 1
    with pytest.raises(backups.BackupError, match="older"):
        backups.check_tool_version("pg_restore", "", 160004)


def test_it_refuses_a_missing_file_or_a_newer_format(tmp_path):
    with pytest.raises(backups.BackupError, match="no such backup file") as exc:
        backups.read_backup(tmp_path / "nope", tmp_path)
    assert exc.value.returncode == 2
    newer = json.dumps({"format": backups.FORMAT_VERSION + 1}).encode()
    with pytest.raises(backups.BackupError, match="newer Jikimi") as exc:
        backups._parse_manifest(newer, tmp_path / "x")
    assert exc.value.returncode == 2


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_admin():
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3, autocommit=True)
    except psycopg.OperationalError:
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}")


@pytest.fixture
def pg_database():
    """A database of its own (named for this process, so two runs cannot collide)."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore not installed")
    admin = _pg_admin()
    name = f"jikimi_backup_test_{os.getpid()}"

    def recreate():
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')

    recreate()
    try:
        yield f"{PG_SERVER}/{name}", recreate
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.postgres
def test_it_round_trips_people_on_postgresql(pg_database, tmp_path):
    url, recreate = pg_database
    home = tmp_path / "home"
    assert jikimi(home, "init", "--org", "alpha", DATABASE_URL=url).returncode == 0
    codes = json.loads(python(home, SEED, json.dumps(PEOPLE), DATABASE_URL=url))
    # The backup comes from an older schema: one migration (with its table) not applied.
    back = jikimi(home, "migrate", "checkins", "0003", DATABASE_URL=url)
    assert back.returncode == 0, back.stderr
    backup = tmp_path / "pg.backup"
    run = jikimi(home, "backup", str(backup), DATABASE_URL=url)
    assert run.returncode == 0, run.stderr
    with tarfile.open(backup) as tar:
        assert json.load(tar.extractfile("manifest.json"))["vendor"] == "postgresql"
    blob = backup.read_bytes()
    for name, phone in PEOPLE:
        for encoding in ("utf-8", "utf-16-le"):
            assert name.encode(encoding) not in blob and phone.encode(encoding) not in blob

    # A PostgreSQL backup does not go into SQLite.
    sqlite_home = fresh_home(tmp_path, home, "sqlite")
    wrong = jikimi(sqlite_home, "restore", str(backup))
    assert wrong.returncode == 2 and "PostgreSQL backup" in wrong.stderr

    # The database is lost; the new machine runs `jikimi init` (the newest schema, no data).
    recreate()
    assert jikimi(home, "init", DATABASE_URL=url).returncode == 0
    run = jikimi(home, "restore", str(backup), DATABASE_URL=url)
    assert run.returncode == 0, run.stderr
    assert "people: 2" in run.stdout and "audit chain: ok" in run.stdout
    assert "migrated forward: checkins.0004_ip_strikes" in run.stdout
    assert json.loads(python(home, READ, DATABASE_URL=url)) == codes
    assert jikimi(home, "audit", "verify", DATABASE_URL=url).returncode == 0

    over = jikimi(home, "restore", str(backup), DATABASE_URL=url)
    assert over.returncode == 2 and "2 people" in over.stderr
    forced = jikimi(home, "restore", "--force", str(backup), DATABASE_URL=url)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(python(home, READ, DATABASE_URL=url)) == codes


PUT_EVIDENCE = """
import dataclasses, django, io, json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.core import filestore
stored = filestore.put(io.BytesIO(sys.argv[1].encode() * 50_000))
print(json.dumps(dataclasses.asdict(stored)))
"""

VERIFY_EVIDENCE = """
import django, json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.core import filestore
stored = filestore.StoredFile(**json.loads(sys.argv[1]))
result = filestore.verify(stored)
print(json.dumps({"ok": result.ok, "reason": result.reason,
                  "bytes": sum(len(c) for c in filestore.open(stored)) if result.ok else 0}))
"""


@sqlite_only
def test_it_carries_the_evidence_files_encrypted_through_backup_and_restore(tmp_path):
    home = tmp_path / "home"
    assert jikimi(home, "init", "--org", "alpha").returncode == 0
    marker = "EVIDENCE-MARKER-7Q"
    stored = python(home, PUT_EVIDENCE, marker).strip()
    file_id = json.loads(stored)["file_id"]
    backup = tmp_path / "with-evidence.backup"
    run = jikimi(home, "backup", str(backup))
    assert run.returncode == 0, run.stderr
    with tarfile.open(backup) as tar:
        assert f"evidence/{file_id[:2]}/{file_id}" in tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["evidence"]["files"] == 1
    assert marker.encode() not in backup.read_bytes()  # stored encrypted, carried as stored

    new = fresh_home(tmp_path, home)
    run = jikimi(new, "restore", str(backup))
    assert run.returncode == 0, run.stderr
    assert "evidence files: 1 in the backup, 1 placed in the store" in run.stdout
    result = json.loads(python(new, VERIFY_EVIDENCE, stored))
    assert result == {"ok": True, "reason": None, "bytes": len(marker) * 50_000}


@sqlite_only
def test_it_refuses_a_backup_whose_evidence_member_escapes_the_store(seeded, tmp_path):
    home, backup, _codes = seeded
    crafted = tmp_path / "crafted.backup"
    with tarfile.open(backup) as src, tarfile.open(crafted, "w") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member))
        evil = tarfile.TarInfo("evidence/../../escaped")
        evil.size = 4
        out.addfile(evil, io.BytesIO(b"evil"))
    new = fresh_home(tmp_path, home)
    run = jikimi(new, "restore", str(crafted))
    assert run.returncode == 2
    assert "evidence/../../escaped is not an evidence file" in run.stderr
    assert not (tmp_path / "escaped").exists() and not (new.parent / "escaped").exists()
