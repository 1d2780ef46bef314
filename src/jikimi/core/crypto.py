"""Field encryption (AES-256-GCM) and blind indexes.

A ciphertext is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The associated data is
`<table>:<column>:<row id>`, so a ciphertext copied into another row or column fails to
decrypt instead of showing the wrong person's data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .keyring import KeyRingError, get_keyring

PREFIX = "v1"


class DecryptionError(RuntimeError):
    """A ciphertext failed authentication: tampered with, or moved from another row."""


def associated_data(table: str, column: str, row_id: object) -> bytes:
    return f"{table}:{column}:{row_id}".encode()


def encrypt(plaintext: str, aad: bytes) -> str:
    ring = get_keyring()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(ring.key(ring.active)).encrypt(nonce, plaintext.encode(), aad)
    return f"{PREFIX}:{ring.active}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(ciphertext: str) -> str:
    return ciphertext.split(":", 2)[1]


def decrypt(ciphertext: str, aad: bytes) -> str:
    try:
        version, key_id, body = ciphertext.split(":", 2)
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        raise DecryptionError(f"not a Jikimi ciphertext (for {aad.decode()})") from None
    if version != PREFIX or len(raw) < 12 + 16:
        raise DecryptionError(f"not a Jikimi ciphertext (for {aad.decode()})")
    key = get_keyring().key(key_id)  # KeyRingError names the missing key
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode()
    except InvalidTag:
        raise DecryptionError(
            f"the ciphertext for {aad.decode()} failed authentication: it was altered or "
            "moved from another row"
        ) from None


def normalise_for_index(value: str) -> str:
    """NFKC, case-folded, white space and punctuation removed."""
    value = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in value if ch.isalnum())


def blind_index(kind: str, value: str) -> str:
    """Keyed hash of a normalised value: equal values match, nothing is revealed."""
    # The one-shot C HMAC (same digest as hmac.new(...).hexdigest()): an import computes
    # tens of these per person, and the HMAC object's Python set-up cost more than the hash.
    return hmac.digest(get_keyring().index, f"{kind}\x1f{value}".encode(), "sha256").hex()[:32]


class Sealer:
    """`encrypt` for many values (a bulk import's thousands of fields): the active key and
    its AES-GCM object set up once. Each value still gets its own random 96-bit nonce and is
    bound to its row (`aad`); the ciphertexts are those `encrypt` writes (same format, same
    key), readable by `decrypt`."""

    def __init__(self) -> None:
        ring = get_keyring()
        self._aead = AESGCM(ring.key(ring.active))
        self._prefix = f"{PREFIX}:{ring.active}:"

    def seal(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), aad)
        return self._prefix + base64.b64encode(nonce + sealed).decode()


_HMAC_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class BlindIndexer:
    """`blind_index` for many values (an import's tens of keys per person, most of them
    shared by many people): the HMAC-SHA256 key schedule done once — the inner and outer
    hash states of RFC 2104, copied per value, which is what `hmac` computes — and each
    distinct (kind, value) hashed once per indexer. Same digests as `blind_index`.

    `key` is the key ring's index key unless given (a child process that computes an
    import's digests is handed it: `people.digests.DigestWorker`)."""

    def __init__(self, key: bytes | None = None) -> None:
        key = get_keyring().index if key is None else key
        if len(key) > _HMAC_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_HMAC_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))
        self._memo: dict[str, str] = {}

    #: Memoised digests kept at most (then forgotten and counted again): bounds memory.
    MEMO_MAX = 1 << 18

    def __call__(self, kind: str, value: str) -> str:
        message = f"{kind}\x1f{value}"
        found = self._memo.get(message)
        if found is None:
            if len(self._memo) >= self.MEMO_MAX:
                self._memo.clear()
            inner = self._inner.copy()
            inner.update(message.encode())
            outer = self._outer.copy()
            outer.update(inner.digest())
            found = self._memo[message] = outer.hexdigest()[:32]
        return found


def pepper_hash(purpose: str, secret: str) -> str:
    """HMAC with the server pepper, for short secrets such as PINs (DESIGN §3)."""
    return hmac.new(
        get_keyring().pepper, f"{purpose}\x1f{secret}".encode(), hashlib.sha256
    ).hexdigest()


__all__ = [
    "BlindIndexer",
    "DecryptionError",
    "KeyRingError",
    "associated_data",
    "blind_index",
    "decrypt",
    "encrypt",
    "key_id_of",
    "normalise_for_index",
    "pepper_hash",
    "Sealer",
]
