"""The evidence store (jikimi.core.filestore): real files in a temporary JIKIMI_HOME."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from jikimi.core import filestore
from jikimi.core.filestore import FileMissing, FileTampered, FileTooLarge, StoredFile

CHUNK = 1 << filestore.CHUNK_LOG2
BLOCK = CHUNK + filestore.TAG_BYTES
HEADER = filestore.HEADER_BYTES
MARKER = b"JIKIMI-PLAINTEXT-MARKER"


@pytest.fixture
def home(settings, tmp_path):
    settings.JIKIMI_HOME = tmp_path / "home"
    return settings.JIKIMI_HOME


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic bytes of `size`, with the marker repeated through them."""
    block = hashlib.sha256(str(seed).encode()).digest() * 64 + MARKER
    return (block * (size // len(block) + 1))[:size]


def stored_bytes(stored: StoredFile) -> bytes:
    return filestore.path_of(stored.file_id).read_bytes()


def write_stored(stored: StoredFile, data: bytes) -> None:
    filestore.path_of(stored.file_id).write_bytes(data)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * 2**20 + 5])
def test_it_round_trips_every_size(home, size):
    data = payload(size)
    stored = filestore.put(io.BytesIO(data))
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(filestore.open(stored)) == data
    assert filestore.verify(stored) == filestore.VerifyResult(True)
    # one sealed chunk per started chunk (an empty file still has its last chunk)
    chunks = max(1, -(-size // CHUNK))
    assert len(stored_bytes(stored)) == HEADER + size + chunks * filestore.TAG_BYTES
    path = filestore.path_of(stored.file_id)
    assert path.parent.name == stored.file_id[:2]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_it_takes_a_generator_of_uneven_pieces(home):
    data = payload(5 * CHUNK + 123, seed=1)
    cuts = [0, 7, 7, 1000, CHUNK + 5, 3 * CHUNK, len(data)]
    stored = filestore.put(data[a:b] for a, b in zip(cuts, cuts[1:], strict=False))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(filestore.open(stored)) == data


def test_it_takes_django_uploads_in_memory_and_on_disk(home):
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    data = payload(2 * CHUNK + 17, seed=3)
    on_disk = TemporaryUploadedFile("video.mp4", "video/mp4", len(data), None)
    on_disk.write(data)
    on_disk.seek(0)
    for upload in (SimpleUploadedFile("photo.jpg", data), on_disk):
        stored = filestore.put(upload)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert b"".join(filestore.open(stored)) == data
    on_disk.close()


def test_it_stores_no_plaintext(home):
    data = payload(3 * CHUNK)
    assert data.count(MARKER) > 10
    stored = filestore.put(io.BytesIO(data))
    blob = stored_bytes(stored)
    assert MARKER not in blob
    assert data[:64] not in blob
    key = filestore._unwrap(stored)
    assert key not in blob and key.hex().encode() not in blob
    assert stored.wrapped_key.startswith(f"v1:{stored.key_id}:")


def test_two_files_of_the_same_bytes_differ_in_the_store(home):
    a = filestore.put(io.BytesIO(b"same"))
    b = filestore.put(io.BytesIO(b"same"))
    assert a.file_id != b.file_id and a.sha256 == b.sha256
    assert stored_bytes(a) != stored_bytes(b)


def assert_tamper_detected(stored: StoredFile) -> str:
    result = filestore.verify(stored)
    assert not result.ok
    assert result.reason and stored.file_id in result.reason
    with pytest.raises(FileTampered, match=stored.file_id):
        b"".join(filestore.open(stored))
    return result.reason


@pytest.mark.parametrize(
    "where",
    [0, 6, 8, HEADER, HEADER + 100, HEADER + CHUNK, HEADER + BLOCK - 1, HEADER + BLOCK, -1],
)
def test_it_detects_one_flipped_byte_anywhere(home, where):
    stored = filestore.put(io.BytesIO(payload(2 * CHUNK + 10)))
    blob = bytearray(stored_bytes(stored))
    blob[where] ^= 0x01
    write_stored(stored, bytes(blob))
    assert_tamper_detected(stored)


@pytest.mark.parametrize("cut", [1, 16, 17, BLOCK - 10, HEADER])
def test_it_detects_truncation(home, cut):
    stored = filestore.put(io.BytesIO(payload(2 * CHUNK + 10)))
    blob = stored_bytes(stored)
    write_stored(stored, blob[: len(blob) - cut] if cut != HEADER else blob[: HEADER - 1])
    assert_tamper_detected(stored)


def test_it_detects_a_file_cut_at_a_chunk_boundary(home):
    stored = filestore.put(io.BytesIO(payload(3 * CHUNK)))
    write_stored(stored, stored_bytes(stored)[: HEADER + 2 * BLOCK])  # two whole chunks left
    reason = assert_tamper_detected(stored)
    assert "chunk 1" in reason  # chunk 1 was not sealed as the last one


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 16, b"y" * (BLOCK + 3)])
def test_it_detects_appended_bytes(home, extra):
    stored = filestore.put(io.BytesIO(payload(CHUNK + 10)))
    write_stored(stored, stored_bytes(stored) + extra)
    assert_tamper_detected(stored)


def test_it_detects_an_appended_copy_of_the_last_chunk(home):
    stored = filestore.put(io.BytesIO(payload(2 * CHUNK)))  # the last chunk is a whole one
    blob = stored_bytes(stored)
    write_stored(stored, blob + blob[-BLOCK:])
    assert_tamper_detected(stored)


def test_it_detects_reordered_chunks(home):
    stored = filestore.put(io.BytesIO(payload(3 * CHUNK + 10)))
    blob = stored_bytes(stored)
    first, second = blob[HEADER : HEADER + BLOCK], blob[HEADER + BLOCK : HEADER + 2 * BLOCK]
    write_stored(stored, blob[:HEADER] + second + first + blob[HEADER + 2 * BLOCK :])
    assert "chunk 0" in assert_tamper_detected(stored)


def test_it_detects_chunks_swapped_between_files(home):
    a = filestore.put(io.BytesIO(payload(3 * CHUNK, seed=1)))
    b = filestore.put(io.BytesIO(payload(3 * CHUNK, seed=2)))
    blob_a, blob_b = stored_bytes(a), stored_bytes(b)
    span = slice(HEADER + BLOCK, HEADER + 2 * BLOCK)
    write_stored(a, blob_a[: span.start] + blob_b[span] + blob_a[span.stop :])
    write_stored(b, blob_b[: span.start] + blob_a[span] + blob_b[span.stop :])
    assert "chunk 1" in assert_tamper_detected(a)
    assert "chunk 1" in assert_tamper_detected(b)


def test_it_detects_a_file_or_key_moved_to_another_id(home):
    a = filestore.put(io.BytesIO(b"first file"))
    b = filestore.put(io.BytesIO(b"other file"))
    write_stored(b, stored_bytes(a))  # a's blob under b's id: b's key does not open it
    assert_tamper_detected(b)
    with pytest.raises(FileTampered, match="key"):  # a's wrapped key on b's row
        b"".join(filestore.open(replace(b, wrapped_key=a.wrapped_key)))
    assert "key" in (filestore.verify(replace(b, wrapped_key=a.wrapped_key)).reason or "")


def test_it_detects_a_wrong_recorded_hash_or_size(home):
    stored = filestore.put(io.BytesIO(b"evidence"))
    bad = replace(stored, sha256="0" * 64)
    assert "SHA-256" in (filestore.verify(bad).reason or "")
    with pytest.raises(FileTampered, match="SHA-256"):
        list(filestore.open(bad))
    assert "bytes" in (filestore.verify(replace(stored, size=9)).reason or "")


def test_it_names_a_missing_file_and_deletes(home):
    stored = filestore.put(io.BytesIO(b"evidence"))
    assert filestore.delete(stored) is True
    assert filestore.delete(stored) is False
    assert "missing" in (filestore.verify(stored).reason or "")
    with pytest.raises(FileMissing):
        list(filestore.open(stored))
    assert list(filestore.stored_ids()) == []


def test_it_refuses_an_id_that_is_not_one(home):
    with pytest.raises(filestore.FileStoreError, match="not an evidence file id"):
        filestore.path_of("../keys")


def test_a_stream_that_fails_half_way_leaves_nothing(home):
    def failing():
        yield payload(3 * CHUNK)
        raise OSError("connection reset by peer")

    with pytest.raises(OSError, match="connection reset"):
        filestore.put(failing())
    assert list(filestore.stored_ids()) == []
    assert filestore.leftover_temporaries() == []


def test_it_refuses_more_than_max_bytes_and_leaves_nothing(home):
    limit = 2 * CHUNK + 5
    assert filestore.put(io.BytesIO(payload(limit)), max_bytes=limit).size == limit
    with pytest.raises(FileTooLarge) as caught:
        filestore.put(io.BytesIO(payload(limit + 1)), max_bytes=limit)
    assert caught.value.max_bytes == limit
    assert "제한" in str(caught.value)  # translated: Korean is the default language
    assert len(list(filestore.stored_ids())) == 1
    assert filestore.leftover_temporaries() == []


MEMORY_SCRIPT = r"""
import json, resource, sys
from jikimi.core import filestore

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

block = bytes(range(256)) * 4096  # 1 MiB, yielded again and again: never the whole in memory
total = int(sys.argv[1])
before = peak_mb()
stored = filestore.put(block for _ in range(total))
result = filestore.verify(stored)
print(json.dumps({"before": before, "after": peak_mb(), "ok": result.ok, "size": stored.size}))
"""


def test_a_200_mb_stream_goes_through_in_little_memory(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "jikimi.settings"}
    env["JIKIMI_HOME"] = str(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, "200"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result = json.loads(run.stdout)
    assert result["ok"] and result["size"] == 200 * 2**20
    assert result["after"] - result["before"] < 50, result
    assert len(list(Path(tmp_path, "evidence").glob("??/*"))) == 1


class Rows:
    """A stand-in for an app's evidence rows: what a registered source reads and saves."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, StoredFile]] = {}

    def add(self, label: str, data: bytes) -> StoredFile:
        stored = filestore.put(io.BytesIO(data))
        self.rows[stored.file_id] = (label, stored)
        return stored

    def files(self):
        return list(self.rows.values())

    def rewrapped(self, stored: StoredFile) -> None:
        label, _old = self.rows[stored.file_id]
        self.rows[stored.file_id] = (label, stored)


@pytest.fixture
def source(home, monkeypatch):
    # Only this test's rows: the apps' own sources (incidents) would need the database.
    monkeypatch.setattr(filestore, "_sources", {})
    rows = Rows()
    filestore.register_evidence_source("test", rows.files, rows.rewrapped)
    yield rows
    filestore.unregister_evidence_source("test")


@pytest.fixture
def key_file(settings, tmp_path, monkeypatch):
    from jikimi.core.keyring import KeyRing, reset_keyring_cache, write_key_file

    monkeypatch.delenv("JIKIMI_KEYS")
    settings.JIKIMI_HOME = tmp_path / "home"
    write_key_file(KeyRing.generate())
    yield
    reset_keyring_cache()


@pytest.mark.django_db
def test_key_rotation_rewraps_file_keys_and_keeps_the_files(key_file, source):
    from jikimi.core.keyring import KeyRingError, reset_keyring_cache
    from jikimi.core.services import ciphertexts_by_key, reencrypt_all, retire_key, rotate_keys

    a = source.add("photo", payload(CHUNK + 3, seed=1))
    b = source.add("audio", payload(10, seed=2))
    blobs = {s.file_id: stored_bytes(s) for s in (a, b)}
    assert ciphertexts_by_key()["k1"] == 2 and a.key_id == "k1"

    report = rotate_keys()
    assert report.active == "k2" and report.reencrypted == 2
    assert report.remaining_by_key == {"k1": 0, "k2": 2}
    assert reencrypt_all().reencrypted == 0  # resumable: nothing left
    retire_key("k1")

    reset_keyring_cache()
    for label, stored in source.files():
        assert stored.key_id == "k2" and stored.wrapped_key.startswith("v1:k2:")
        assert stored_bytes(stored) == blobs[stored.file_id]  # the file is not rewritten
        assert filestore.verify(stored).ok, label
    assert b"".join(filestore.open(source.rows[a.file_id][1])) == payload(CHUNK + 3, seed=1)
    # the old wrapped key no longer opens: its key is gone from the ring
    assert "'k1'" in (filestore.verify(a).reason or "")
    with pytest.raises(KeyRingError):
        filestore.rewrap(a)


@pytest.mark.django_db
def test_a_key_still_wrapping_a_file_is_not_retired(key_file, source):
    from jikimi.core.keyring import KeyRing, KeyRingError, key_file_path, write_key_file
    from jikimi.core.services import retire_key

    source.add("photo", b"evidence")
    write_key_file(KeyRing.from_json(key_file_path().read_text(), "test").with_new_active_key())
    with pytest.raises(KeyRingError, match="still use key 'k1'"):
        retire_key("k1")


def test_jikimi_evidence_verify(cli, source):
    assert cli("evidence", "verify").returncode == 0  # an empty store
    good = source.add("incident evidence E-1 (photo.jpg)", payload(2 * CHUNK, seed=1))
    bad = source.add("incident evidence E-2 (call.m4a)", payload(CHUNK + 9, seed=2))
    run = cli("evidence", "verify")
    assert run.returncode == 0, run.stderr
    assert "2 evidence files verified" in run.stdout

    blob = bytearray(stored_bytes(bad))
    blob[HEADER + BLOCK + 4] ^= 0x80  # in chunk 1
    write_stored(bad, bytes(blob))
    gone = source.add("incident evidence E-3 (scan.pdf)", b"scan")
    filestore.delete(gone)
    run = cli("evidence", "verify")
    assert run.returncode == 1
    assert "FAILED incident evidence E-2 (call.m4a)" in run.stderr
    assert "FAILED incident evidence E-3 (scan.pdf)" in run.stderr
    assert "missing" in run.stderr and "chunk 1" in run.stderr
    assert "E-1" not in run.stderr and good.file_id not in run.stderr
    assert "2 of 3 evidence files do not match" in run.stderr


def test_jikimi_evidence_verify_warns_of_orphans(cli, source):
    source.add("incident evidence E-1", b"known")
    orphan = filestore.put(io.BytesIO(b"no row names this"))
    leftover = filestore.store_dir() / filestore.TMP_DIR / ("0" * 32 + ".part")
    leftover.write_bytes(b"cut short by a crash")
    under_way = leftover.with_name("1" * 32 + ".part")
    under_way.write_bytes(b"an upload still running")
    an_hour_ago = time.time() - filestore.LEFTOVER_AFTER_SECONDS - 1
    os.utime(leftover, (an_hour_ago, an_hour_ago))
    run = cli("evidence", "verify")
    assert run.returncode == 0, run.stderr
    assert f"warning: {filestore.path_of(orphan.file_id)} is in the store" in run.stderr
    assert f"warning: {leftover} is left from an interrupted upload" in run.stderr
    assert under_way.name not in run.stderr
    assert "1 evidence files verified" in run.stdout
