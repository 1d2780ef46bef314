"""Public codes such as P-7KQ2-M9XD: random, unambiguous to read aloud or over a phone."""

from __future__ import annotations

import re
import secrets

# Crockford-style: no 0/O, 1/I/L, U — easy to dictate, hard to misread.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_code(prefix: str) -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


_PUBLIC_CODE = re.compile(rf"^[A-Z]{{1,3}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")
_ID = re.compile(r"^(?:\d{1,20}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def is_public_code(value: str) -> bool:
    """True for a well-formed public code such as P-7KQ2-M9XD (any prefix)."""
    return bool(_PUBLIC_CODE.match(value))


def is_code_or_id(value: str) -> bool:
    """A public code, a whole-number id or a UUID: what may name an object in the audit log."""
    return bool(_PUBLIC_CODE.match(value) or _ID.match(value.lower()))
