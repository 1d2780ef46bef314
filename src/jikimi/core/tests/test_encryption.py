"""Field encryption: nothing identifying in clear, ciphertexts bound to their row, rotation."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from jikimi.core import crypto
from jikimi.core.keyring import KeyRing, KeyRingError, reset_keyring_cache, write_key_file
from jikimi.people import services
from jikimi.people.models import Identity, Person

JIKIMI = str(Path(sys.executable).parent / "jikimi")
# A distinctive synthetic name, in Hangul and in two romanisations.
NAME_HANGUL = "탁윤슬"
NAME_LATIN = "Tak Yunseul"
NAME_MR = "T'ak Yun-sŭl"


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("JIKIMI_KEYS", "DATABASE_URL")}
    return {**env, "JIKIMI_HOME": str(home), **extra}


def _setup(home: Path, command: str, *args: str) -> None:
    """Prepare an install through the real command line; --skip-checks because Django's
    system checks import every view (seconds per process) and are not what these test."""
    run = [JIKIMI, command, "--skip-checks", *args]
    subprocess.run(run, env=_env(home), check=True, capture_output=True)


def test_it_round_trips_and_binds_ciphertext_to_its_row():
    aad = crypto.associated_data("people_identity", "value", "row-1")
    sealed = crypto.encrypt(NAME_HANGUL, aad)
    assert NAME_HANGUL.encode() not in sealed.encode()
    assert crypto.decrypt(sealed, aad) == NAME_HANGUL
    other_row = crypto.associated_data("people_identity", "value", "row-2")
    with pytest.raises(crypto.DecryptionError, match="altered or moved"):
        crypto.decrypt(sealed, other_row)


def test_it_refuses_a_tampered_ciphertext():
    aad = crypto.associated_data("t", "c", 1)
    version, key_id, body = crypto.encrypt("secret", aad).split(":", 2)
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{version}:{key_id}:{flipped}", aad)
    with pytest.raises(crypto.DecryptionError, match="not a Jikimi ciphertext"):
        crypto.decrypt("plain text", aad)


def test_it_names_a_missing_key():
    aad = crypto.associated_data("t", "c", 1)
    sealed = crypto.encrypt("secret", aad).replace(":k1:", ":k9:", 1)
    with pytest.raises(KeyRingError, match="key 'k9' is not in the key ring"):
        crypto.decrypt(sealed, aad)


def test_it_detects_a_ciphertext_moved_to_another_person(staff):
    worker = staff["caseworker"]
    a = services.create_person(worker, name=NAME_HANGUL)
    b = services.create_person(worker, name="김철수")
    ident_a = Identity.objects.get(person=a, kind="name")
    ident_b = Identity.objects.get(person=b, kind="name")
    with connection.cursor() as cur:
        cur.execute("SELECT value FROM people_identity WHERE id = %s", [ident_a.pk.hex])
        row = cur.fetchone()
        if row is None:  # PostgreSQL stores uuids natively
            cur.execute("SELECT value FROM people_identity WHERE id = %s", [ident_a.pk])
            row = cur.fetchone()
    Identity.objects.filter(pk=ident_b.pk).update(value=row[0])
    moved = Identity.objects.get(pk=ident_b.pk)
    with pytest.raises(crypto.DecryptionError, match="people_identity:value"):
        _ = moved.value


def test_it_stores_no_name_in_clear_in_the_database(staff):
    """The name's bytes appear nowhere in the tables (SQLite or PostgreSQL alike)."""
    worker = staff["caseworker"]
    person = services.create_person(worker, name=NAME_HANGUL, notes=f"also {NAME_LATIN}")
    services.add_identity(worker, person, kind="name", value=NAME_LATIN, name_kind="alias")
    services.add_identity(worker, person, kind="name", value=NAME_MR, name_kind="alias")
    services.add_identity(worker, person, kind="phone", value="010-9876-5432")
    services.add_trusted_contact(worker, person, name=NAME_LATIN + " Sr", phone="010-1111-2222")
    services.get_person(worker, person.code)
    services.search_people(worker, NAME_LATIN)
    # The phone as written and as digits; 8 digits, since 4 turn up by chance in hex hashes.
    needles = [NAME_HANGUL, NAME_LATIN, NAME_MR, "Yunseul", "윤슬", "9876-5432", "98765432"]
    tables = connection.introspection.table_names()
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            text = json.dumps([list(map(str, r)) for r in cur.fetchall()], ensure_ascii=False)
            for needle in needles:
                assert needle.casefold() not in text.casefold(), (table, needle)
    assert services.search_people(worker, "Tak Yun-seul")[0].code == person.code


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="inspects the SQLite file itself",
)
def test_it_leaves_no_name_bytes_in_the_sqlite_file(tmp_path):
    """Create a person through the real command line and read the database file's bytes."""
    home = tmp_path / "home"
    _setup(home, "init", "--org", "alpha")
    script = f"""
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from jikimi.accounts.services import create_staff
from jikimi.accounts.models import Organisation
from jikimi.people import services
user, _ = create_staff("w", "a long enough password", Organisation.objects.get(slug="alpha"),
                       "caseworker")
p = services.create_person(user, name={NAME_HANGUL!r}, notes={NAME_LATIN!r})
services.add_identity(user, p, kind="name", value={NAME_MR!r}, name_kind="alias")
services.add_identity(user, p, kind="phone", value="010-9876-5432")
assert services.search_people(user, "Tak Yunseul")[0].code == p.code
"""
    subprocess.run(
        [sys.executable, "-c", script],
        env=_env(home, JIKIMI_TESTING="1"),
        check=True,
        capture_output=True,
    )
    db = home / "jikimi.sqlite3"
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    blobs = b"".join(p.read_bytes() for p in home.glob("jikimi.sqlite3*"))
    assert b"people_identity" in blobs  # the file is the real database
    for needle in (NAME_HANGUL, NAME_LATIN, NAME_MR, "Yunseul", "9876-5432"):
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in blobs, needle


@pytest.fixture
def key_file(settings, tmp_path, monkeypatch):
    """A key ring in a key file (rotation writes the file), set up before any data."""
    monkeypatch.delenv("JIKIMI_KEYS")
    settings.JIKIMI_HOME = tmp_path
    write_key_file(KeyRing.generate())
    yield tmp_path / "keys.json"
    reset_keyring_cache()


def test_it_reads_data_after_rotation_and_removal_of_the_old_key(key_file, staff):
    worker = staff["caseworker"]
    person = services.create_person(worker, name=NAME_HANGUL, notes="rotation")
    services.add_identity(worker, person, kind="phone", value="010-5555-0000")
    assert Identity.objects.filter(value__startswith="v1:k1:").count() == 2

    from jikimi.core.services import reencrypt_all, retire_key, rotate_keys

    report = rotate_keys(batch_size=1)
    assert report.active == "k2"
    assert report.remaining_by_key["k1"] == 0
    assert reencrypt_all().reencrypted == 0  # resumable: nothing left to do
    retire_key("k1")
    ring = json.loads(key_file.read_text())
    assert set(ring["keys"]) == {"k2"}
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    reset_keyring_cache()
    fresh = Person.objects.get(pk=person.pk)
    assert fresh.display_name == NAME_HANGUL and fresh.notes == "rotation"
    values = sorted(i.value for i in Identity.objects.filter(person=fresh))
    assert values == sorted([NAME_HANGUL, "010-5555-0000"])
    # the blind index survives rotation: search still finds the person
    assert services.search_people(worker, "Tak Yunseul")[0].code == person.code


def test_it_refuses_to_retire_a_key_still_in_use(key_file, staff):
    from jikimi.core.services import retire_key, rotate_keys

    services.create_person(staff["caseworker"], name="김철수")
    with pytest.raises(KeyRingError, match="active key cannot be removed"):
        retire_key("k1")
    write_key_file(KeyRing.from_json(key_file.read_text(), "test").with_new_active_key())
    with pytest.raises(KeyRingError, match="still use key 'k1'"):
        retire_key("k1")
    rotate_keys()
    retire_key("k1")


SAMPLE = Path(__file__).resolve().parents[2] / "people" / "tests" / "data" / "people.csv"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """An install with people in it, made once; each test takes a copy of its own."""
    home = tmp_path_factory.mktemp("installed") / "home"
    _setup(home, "init", "--org", "alpha")
    _setup(home, "import", "people", str(SAMPLE), "--org", "alpha")
    return home


def _home_with_a_person(installed: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(installed, home)
    return home


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="a file-based SQLite home"
)
def test_it_stops_serve_when_the_key_file_is_missing(installed, tmp_path):
    home = _home_with_a_person(installed, tmp_path)
    (home / "keys.json").unlink()
    proc = subprocess.run(
        [JIKIMI, "serve", "--port", "0"], env=_env(home), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "restore keys.json from your backup" in proc.stderr
    assert not (home / "keys.json").exists()  # no new key was made over the old data


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="a file-based SQLite home"
)
def test_it_stops_serve_when_the_key_file_is_unreadable(installed, tmp_path):
    home = _home_with_a_person(installed, tmp_path)
    (home / "keys.json").write_text("{not json")
    proc = subprocess.run(
        [JIKIMI, "serve", "--port", "0"], env=_env(home), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "key ring" in proc.stderr and "malformed" in proc.stderr
    (home / "keys.json").unlink()
    (home / "keys.json").mkdir()  # a key file that cannot be read as a file
    proc = subprocess.run(
        [JIKIMI, "serve", "--port", "0"], env=_env(home), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert "cannot be read" in proc.stderr
