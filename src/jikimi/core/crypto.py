"""Field encryption (AES-256-GCM) and blind indexes.

A ciphertext is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The associated data is
`<table>:<column>:<row id>`, so a ciphertext copied into another row or column fails to
decrypt instead of showing the wrong person's data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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


def pepper_hash(purpose: str, secret: str) -> str:
    """HMAC with the server pepper, for short secrets such as PINs (DESIGN §3)."""
    return hmac.new(
        get_keyring().pepper, f"{purpose}\x1f{secret}".encode(), hashlib.sha256
    ).hexdigest()


__all__ = [
    "DecryptionError",
    "KeyRingError",
    "associated_data",
    "blind_index",
    "decrypt",
    "encrypt",
    "key_id_of",
    "normalise_for_index",
    "pepper_hash",
]
