"""Public codes such as P-7KQ2-M9XD: random, unambiguous to read aloud or over a phone."""

from __future__ import annotations

import secrets

# Crockford-style: no 0/O, 1/I/L, U — easy to dictate, hard to misread.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_code(prefix: str) -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{prefix}-{chars[:4]}-{chars[4:]}"
