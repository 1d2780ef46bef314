"""The key ring: several AES-256 keys with ids, one active, plus the blind-index key.

Keys live outside the database (DESIGN §3): in `JIKIMI_KEYS` (the JSON below) or in the
0600 file `JIKIMI_HOME/keys.json`, made by `jikimi init`:

    {"active": "k1", "keys": {"k1": "<base64 32 bytes>"}, "index": "<base64 32 bytes>",
     "pepper": "<base64 32 bytes>"}

`index` keys the blind indexes (it never rotates: the indexes would all change); `pepper`
keys PIN hashes.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class KeyRingError(RuntimeError):
    """The key ring is missing, unreadable or lacks a key a ciphertext names."""


@dataclass(frozen=True)
class KeyRing:
    active: str
    keys: dict[str, bytes]
    index: bytes
    pepper: bytes

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise KeyRingError(
                f"key {key_id!r} is not in the key ring; restore it to JIKIMI_KEYS or "
                f"{key_file_path()} (data written under it cannot be read without it)"
            ) from None

    def to_json(self) -> str:
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode()

        return json.dumps(
            {
                "active": self.active,
                "keys": {k: b64(v) for k, v in self.keys.items()},
                "index": b64(self.index),
                "pepper": b64(self.pepper),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> KeyRing:
        try:
            data = json.loads(text)
            keys = {k: base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            ring = cls(
                active=data["active"],
                keys=keys,
                index=base64.b64decode(data["index"], validate=True),
                pepper=base64.b64decode(data["pepper"], validate=True),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"the key ring in {where} is malformed ({exc})") from None
        if ring.active not in ring.keys:
            raise KeyRingError(
                f"the key ring in {where} names active key {ring.active!r} but does not hold it"
            )
        for key_id, raw in [*ring.keys.items(), ("index", ring.index), ("pepper", ring.pepper)]:
            if len(raw) != 32:
                raise KeyRingError(f"key {key_id!r} in {where} is not 32 bytes")
        return ring

    @classmethod
    def generate(cls) -> KeyRing:
        return cls(
            active="k1",
            keys={"k1": secrets.token_bytes(32)},
            index=secrets.token_bytes(32),
            pepper=secrets.token_bytes(32),
        )

    def with_new_active_key(self) -> KeyRing:
        n = 1 + max(int(k[1:]) for k in self.keys if k[1:].isdigit())
        new_id = f"k{n}"
        return KeyRing(
            new_id, {**self.keys, new_id: secrets.token_bytes(32)}, self.index, self.pepper
        )

    def without_key(self, key_id: str) -> KeyRing:
        if key_id == self.active:
            raise KeyRingError("the active key cannot be removed")
        return KeyRing(
            self.active,
            {k: v for k, v in self.keys.items() if k != key_id},
            self.index,
            self.pepper,
        )


def key_file_path() -> Path:
    return Path(settings.JIKIMI_HOME) / "keys.json"


_lock = threading.Lock()
_cached: KeyRing | None = None


def get_keyring() -> KeyRing:
    """The process's key ring, read once."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _load()
        return _cached


def reset_keyring_cache() -> None:
    global _cached
    with _lock:
        _cached = None


def _load() -> KeyRing:
    if text := os.environ.get("JIKIMI_KEYS"):
        return KeyRing.from_json(text, "JIKIMI_KEYS")
    path = key_file_path()
    if not path.exists():
        raise KeyRingError(
            f"no key file at {path}: run `jikimi init` to create one, or set JIKIMI_KEYS "
            "(restore the key file from your backup if this install already holds data)"
        )
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeyRingError(
            f"the key file {path} cannot be read ({exc.strerror}): check its "
            "owner and permissions (it should be 0600, owned by this user)"
        )
    return KeyRing.from_json(text, str(path))


def write_key_file(ring: KeyRing, path: Path | None = None) -> Path:
    """Write the ring atomically with mode 0600 (the old file is replaced, never truncated)."""
    path = path or key_file_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    reset_keyring_cache()
    return path
