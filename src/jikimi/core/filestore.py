"""The evidence store: files encrypted at rest under `JIKIMI_HOME/evidence/`, never in the database.

`put(stream)` reads the input in chunks, hashes the plaintext (SHA-256), encrypts it with a
fresh random per-file key and returns a `StoredFile`: the file id, the hash, the size and
the per-file key wrapped by the key ring's active key. Keeping that record (a database row)
is the caller's job; the store keeps only ciphertext. `open(stored)` streams the plaintext
back, `verify(stored)` re-hashes it, `rewrap(stored)` puts the file key under the active key
(key rotation), `delete(stored)` removes the file.

File format (one file per piece of evidence, `evidence/<id[:2]>/<id>`):

    header  = b"JKEVID" ‖ version (1 byte) ‖ log2(chunk size) (1 byte) ‖ nonce prefix (7 bytes)
    chunk i = AES-256-GCM(file key, nonce = prefix ‖ i (4 bytes, big-endian) ‖ last (1 byte),
                          plaintext chunk i, associated data = header ‖ file id)

Every chunk is `chunk size` bytes of plaintext but the last, which may be shorter (or empty,
for an empty file) and is the only one sealed with last = 1: this is the STREAM construction
(Hoang, Reyhanitabar, Rogaway, Vizár 2015). A changed byte, a dropped, repeated or reordered
chunk, a file cut at a chunk boundary, bytes appended, a chunk copied from another file or
a whole file moved to another id all fail authentication, and `open` raises before it gives
out any byte of the chunk concerned.

The hashing and AES-GCM run in C (OpenSSL, through `hashlib` and `cryptography`) on
preallocated buffers (`readinto`, `encrypt_into`, `decrypt_into`), so Python only moves
256 KiB chunks: memory stays flat whatever the size of the file (bench/bench_evidence.py).

The registry at the end lets apps that own evidence rows (incidents) tell `jikimi evidence
verify` and key rotation where their files are, without core knowing them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from . import crypto
from .keyring import KeyRingError, get_keyring

MAGIC = b"JKEVID"
VERSION = 1
# 256 KiB: `bench/bench_evidence.py --chunks` found 16–32 KiB slower and 64 KiB–1 MiB alike
# (within noise); tags cost 16 bytes a chunk, the buffers 1 MiB in all.
CHUNK_LOG2 = 18
# The chunk sizes a header may name: a tampered header cannot make a reader allocate 4 GB.
MIN_CHUNK_LOG2, MAX_CHUNK_LOG2 = 12, 24
PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + 2 + PREFIX_BYTES
TAG_BYTES = 16
KEY_BYTES = 32
MAX_CHUNKS = 2**32
TMP_DIR = ".tmp"

_FILE_ID = re.compile(r"^[0-9a-f]{32}$")


class FileStoreError(RuntimeError):
    """A stored file cannot be written or read back as it was stored."""


class FileTooLarge(FileStoreError, ValueError):
    """The input is larger than `max_bytes`; nothing was stored."""

    def __init__(self, max_bytes: int) -> None:
        from django.template.defaultfilters import filesizeformat
        from django.utils.translation import gettext

        self.max_bytes = max_bytes
        super().__init__(
            gettext("The file is larger than the limit of %(limit)s.")
            % {"limit": filesizeformat(max_bytes)}
        )


class FileTampered(FileStoreError):
    """The stored file (or its wrapped key) fails authentication or does not match its hash."""


class FileMissing(FileStoreError):
    """No stored file has this id."""


@dataclass(frozen=True)
class StoredFile:
    """What the caller keeps (in its row) to find, read and check a stored file."""

    file_id: str  # 32 hex digits, random
    sha256: str  # hex digest of the plaintext, computed at intake
    size: int  # plaintext bytes
    key_id: str  # the key-ring key that wraps the file key
    wrapped_key: str  # `v1:<key id>:…` (jikimi.core.crypto), bound to the file id


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reason: str | None = None


# --- Paths -----------------------------------------------------------------------------------


def store_dir() -> Path:
    return Path(settings.JIKIMI_HOME) / "evidence"


def path_of(file_id: str) -> Path:
    if not _FILE_ID.match(file_id):  # an id from a row is never trusted as a path
        raise FileStoreError(f"{file_id!r} is not an evidence file id")
    return store_dir() / file_id[:2] / file_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dir(path: Path) -> None:
    """Create `path` (mode 0700) and make its entry durable in its parent."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    _fsync_dir(path.parent)


# --- Keys ------------------------------------------------------------------------------------


def _key_aad(file_id: str) -> bytes:
    return crypto.associated_data("evidence", "file_key", file_id)


def _wrap(file_key: bytes, file_id: str) -> str:
    return crypto.encrypt(base64.b64encode(file_key).decode(), _key_aad(file_id))


def _unwrap(stored: StoredFile) -> bytes:
    try:
        raw = base64.b64decode(crypto.decrypt(stored.wrapped_key, _key_aad(stored.file_id)))
    except crypto.DecryptionError:
        raise FileTampered(
            f"the key of evidence file {stored.file_id} failed authentication: it was "
            "altered or belongs to another file"
        ) from None
    except ValueError:
        raise FileTampered(f"the key of evidence file {stored.file_id} is malformed") from None
    if len(raw) != KEY_BYTES:
        raise FileTampered(f"the key of evidence file {stored.file_id} is malformed")
    return raw


def rewrap(stored: StoredFile) -> StoredFile:
    """The same file with its key wrapped by the active key (the file itself is unchanged)."""
    active = get_keyring().active
    if stored.key_id == active and crypto.key_id_of(stored.wrapped_key) == active:
        return stored
    wrapped = _wrap(_unwrap(stored), stored.file_id)
    return replace(stored, key_id=active, wrapped_key=wrapped)


# --- Chunked AEAD ------------------------------------------------------------------------------


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= MAX_CHUNKS:
        raise FileStoreError("the file has more chunks than the format allows")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class _Filler:
    """Fills a buffer from a file-like object (readinto or read) or an iterable of bytes."""

    def __init__(self, stream: Any) -> None:
        self._readinto = getattr(stream, "readinto", None)
        self._read = getattr(stream, "read", None)
        self._pieces: Iterator[bytes] | None = None
        if self._readinto is None and self._read is None:
            self._pieces = iter(stream)
        self._pending = memoryview(b"")

    def fill(self, buf: memoryview) -> int:
        """Read until `buf` is full or the input ends; the number of bytes read."""
        pos, size = 0, len(buf)
        while pos < size:
            n = self._next_into(buf[pos:])
            if not n:
                break
            pos += n
        return pos

    def _next_into(self, view: memoryview) -> int:
        if self._readinto is not None:
            return self._readinto(view) or 0
        if self._read is not None:
            piece = self._read(len(view))
            view[: len(piece)] = piece
            return len(piece)
        while not self._pending:
            assert self._pieces is not None
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece).cast("B")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def put(stream: Any, *, max_bytes: int | None = None) -> StoredFile:
    """Store the bytes of `stream` (a binary file or an iterable of bytes), encrypted.

    1. A fresh random file id, file key and nonce prefix.
    2. Chunk by chunk: hash the plaintext, seal it, write it to a temporary file in
       `evidence/.tmp/` (the same file system as the store, so the rename is atomic). A chunk
       is sealed as the last one only once the next read finds the input at its end.
    3. fsync the file, rename it to `evidence/<id[:2]>/<id>`, fsync the directory.
    On any failure (the input raises, `max_bytes` is exceeded, the disk is full) the
    temporary file is removed: nothing half-written remains, and the caller writes no row.
    """
    file_id = secrets.token_hex(16)
    file_key = AESGCM.generate_key(bit_length=256)
    prefix = secrets.token_bytes(PREFIX_BYTES)
    header = MAGIC + bytes([VERSION, CHUNK_LOG2]) + prefix
    aad = header + file_id.encode()
    wrapped = _wrap(file_key, file_id)  # first: a missing key ring fails before any I/O
    chunk = 1 << CHUNK_LOG2

    tmp_dir = store_dir() / TMP_DIR
    _make_dir(tmp_dir)
    tmp = tmp_dir / f"{file_id}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=0) as out:
            size, sha256 = _seal(stream, out, file_key, aad, prefix, header, chunk, max_bytes)
            os.fsync(out.fileno())
        final = path_of(file_id)
        _make_dir(final.parent)
        os.rename(tmp, final)
        _fsync_dir(final.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return StoredFile(file_id, sha256, size, get_keyring().active, wrapped)


def _seal(
    stream: Any,
    out: Any,
    file_key: bytes,
    aad: bytes,
    prefix: bytes,
    header: bytes,
    chunk: int,
    max_bytes: int | None,
) -> tuple[int, str]:
    aead = AESGCM(file_key)
    hasher = hashlib.sha256()
    source = _Filler(stream)
    # Two plaintext buffers: the chunk in hand and the one after it (the look-ahead that
    # says whether the chunk in hand is the last).
    bufs = [memoryview(bytearray(chunk)), memoryview(bytearray(chunk))]
    sealed = memoryview(bytearray(chunk + TAG_BYTES))
    out.write(header)
    size = 0
    counter = 0
    n = source.fill(bufs[0])
    while True:
        current = bufs[counter % 2]
        if n == chunk:
            following = source.fill(bufs[(counter + 1) % 2])
            last = following == 0
        else:
            following, last = 0, True
        size += n
        if max_bytes is not None and size > max_bytes:
            raise FileTooLarge(max_bytes)
        hasher.update(current[:n])
        aead.encrypt_into(_nonce(prefix, counter, last), current[:n], aad, sealed[: n + TAG_BYTES])
        out.write(sealed[: n + TAG_BYTES])
        if last:
            return size, hasher.hexdigest()
        counter += 1
        n = following


def _plaintext(stored: StoredFile, hasher: Any) -> Iterator[memoryview]:
    """The plaintext chunks of a stored file, each authenticated before it is given out.

    A view is valid until the next one is asked for (the buffers are reused). Raises
    FileTampered on any failure of authentication, FileMissing when there is no file."""
    file_key = _unwrap(stored)
    path = path_of(stored.file_id)
    try:
        fh = path.open("rb", buffering=0)
    except FileNotFoundError:
        raise FileMissing(f"evidence file {stored.file_id} is missing from the store") from None
    with fh:
        header = fh.read(HEADER_BYTES)
        if len(header) != HEADER_BYTES or header[: len(MAGIC)] != MAGIC:
            raise FileTampered(f"evidence file {stored.file_id} has no valid header")
        version, log2 = header[len(MAGIC)], header[len(MAGIC) + 1]
        if version != VERSION or not MIN_CHUNK_LOG2 <= log2 <= MAX_CHUNK_LOG2:
            raise FileTampered(f"evidence file {stored.file_id} has no valid header")
        prefix = header[len(MAGIC) + 2 :]
        aad = header + stored.file_id.encode()
        aead = AESGCM(file_key)
        chunk = 1 << log2
        block = chunk + TAG_BYTES
        bufs = [memoryview(bytearray(block)), memoryview(bytearray(block))]
        plain = memoryview(bytearray(chunk))
        source = _Filler(fh)
        counter = 0
        n = source.fill(bufs[0])
        while True:
            current = bufs[counter % 2]
            if n == block:
                following = source.fill(bufs[(counter + 1) % 2])
                last = following == 0
            else:
                following, last = 0, True
            if n < TAG_BYTES:
                raise FileTampered(
                    f"evidence file {stored.file_id} is cut short after chunk {counter}"
                )
            try:
                aead.decrypt_into(
                    _nonce(prefix, counter, last), current[:n], aad, plain[: n - TAG_BYTES]
                )
            except InvalidTag:
                raise FileTampered(
                    f"evidence file {stored.file_id} fails authentication at chunk {counter} "
                    "(altered, cut short, extended or reordered)"
                ) from None
            hasher.update(plain[: n - TAG_BYTES])
            yield plain[: n - TAG_BYTES]
            if last:
                return
            counter += 1
            n = following


def open(stored: StoredFile) -> Iterator[bytes]:  # noqa: A001 - the store's own verb
    """The plaintext of a stored file as chunks of bytes, for a streaming download.

    Each chunk is authenticated before it is yielded; the end of the file must carry the
    last-chunk mark, and the size and SHA-256 must be the recorded ones, or FileTampered is
    raised (after the chunks already given, which were each authentic)."""
    hasher = hashlib.sha256()
    size = 0
    for piece in _plaintext(stored, hasher):
        size += len(piece)
        yield bytes(piece)
    _check_digest(stored, size, hasher.hexdigest())


def _check_digest(stored: StoredFile, size: int, sha256: str) -> None:
    if size != stored.size:
        raise FileTampered(
            f"evidence file {stored.file_id} holds {size} bytes where {stored.size} were stored"
        )
    if sha256 != stored.sha256:
        raise FileTampered(
            f"evidence file {stored.file_id} has SHA-256 {sha256}, not the recorded {stored.sha256}"
        )


def verify(stored: StoredFile) -> VerifyResult:
    """Decrypt and re-hash the whole file (streaming) and compare with the recorded SHA-256."""
    hasher = hashlib.sha256()
    size = 0
    try:
        for piece in _plaintext(stored, hasher):
            size += len(piece)
        _check_digest(stored, size, hasher.hexdigest())
    except (FileStoreError, KeyRingError) as exc:
        return VerifyResult(False, str(exc))
    except OSError as exc:
        return VerifyResult(False, f"evidence file {stored.file_id} cannot be read ({exc})")
    return VerifyResult(True)


def delete(stored: StoredFile) -> bool:
    """Remove the stored file; False when it was already gone."""
    path = path_of(stored.file_id)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_dir(path.parent)
    return True


def stored_ids() -> Iterator[str]:
    """The ids of every file in the store (not the temporary ones)."""
    root = store_dir()
    if not root.is_dir():
        return
    for shard in sorted(root.iterdir()):
        if shard.name == TMP_DIR or not shard.is_dir():
            continue
        for path in sorted(shard.iterdir()):
            if _FILE_ID.match(path.name) and path.name[:2] == shard.name:
                yield path.name


LEFTOVER_AFTER_SECONDS = 3600


def leftover_temporaries() -> list[Path]:
    """Temporary files of uploads a crash cut short (a failed upload removes its own).

    Only those untouched for an hour: a younger one may be an upload still under way."""
    tmp = store_dir() / TMP_DIR
    if not tmp.is_dir():
        return []
    cutoff = time.time() - LEFTOVER_AFTER_SECONDS
    return sorted(path for path in tmp.iterdir() if path.stat().st_mtime < cutoff)


# --- Where the stored files are: the registry of evidence sources ------------------------------


@dataclass(frozen=True)
class EvidenceSource:
    name: str
    files: Callable[[], Iterable[tuple[str, StoredFile]]]  # (label for the operator, file)
    rewrapped: Callable[[StoredFile], None]  # save the new key_id + wrapped_key of file_id


_sources: dict[str, EvidenceSource] = {}


def register_evidence_source(
    name: str,
    files: Callable[[], Iterable[tuple[str, StoredFile]]],
    rewrapped: Callable[[StoredFile], None],
) -> None:
    """Called from an AppConfig.ready() with `jikimi.core.lazy` callables.

    `files()` yields every stored file the app keeps a row for, with a label naming it for
    an operator (e.g. "incident evidence E-42 (photo.jpg)"); `rewrapped(stored)` saves the
    new `key_id` and `wrapped_key` on the row of `stored.file_id` (key rotation)."""
    _sources[name] = EvidenceSource(name, files, rewrapped)


def unregister_evidence_source(name: str) -> None:
    _sources.pop(name, None)


def evidence_sources() -> list[EvidenceSource]:
    return [_sources[name] for name in sorted(_sources)]


def known_files() -> Iterator[tuple[EvidenceSource, str, StoredFile]]:
    for source in evidence_sources():
        for label, stored in source.files():
            yield source, label, stored


@dataclass
class StoreReport:
    checked: int
    failures: list[tuple[str, str]]  # (label, reason)
    orphans: list[str]  # file ids in the store that no source names
    leftovers: list[Path]


def verify_all(progress: Callable[[str, VerifyResult], None] | None = None) -> StoreReport:
    """Verify every file every source knows; list the store's files that none knows."""
    report = StoreReport(0, [], [], leftover_temporaries())
    known: set[str] = set()
    for _source, label, stored in known_files():
        known.add(stored.file_id)
        result = verify(stored)
        report.checked += 1
        if not result.ok:
            report.failures.append((label, result.reason or "failed"))
        if progress:
            progress(label, result)
    report.orphans = [file_id for file_id in stored_ids() if file_id not in known]
    return report


def wrapped_keys_by_key() -> dict[str, int]:
    """How many stored files' keys each key-ring key wraps (so a key in use is not retired)."""
    counts: dict[str, int] = {}
    for _source, _label, stored in known_files():
        key_id = crypto.key_id_of(stored.wrapped_key)
        counts[key_id] = counts.get(key_id, 0) + 1
    return counts


def rewrap_all(progress: Callable[[str], None] | None = None) -> int:
    """Rewrap every file key not under the active key; resumable (only stale ones are done)."""
    active = get_keyring().active
    total = 0
    for source in evidence_sources():
        # Collected first: the source's query is not left open while its rows are written.
        stale = [s for _label, s in source.files() if crypto.key_id_of(s.wrapped_key) != active]
        for stored in stale:
            source.rewrapped(rewrap(stored))
        total += len(stale)
        if progress and stale:
            progress(f"evidence {source.name}: {len(stale)} file keys rewrapped")
    return total
