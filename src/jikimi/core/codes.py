"""Public codes such as P-7KQ2-M9XD: random, unambiguous to read aloud or over a phone."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

# Crockford-style: no 0/O, 1/I/L, U — easy to dictate, hard to misread.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


# Random bytes below this bound map evenly onto the alphabet (byte % 30); the others are
# drawn again, so every character is uniform, as `secrets.choice` would draw it.
_EVEN = 256 - 256 % len(ALPHABET)


def _random80() -> int:
    """80 random bits from os.urandom, drawn 400 at a time (`_pool`).

    One `os.urandom` call per id gave up the interpreter lock once per id: while an
    import's background writer held it, each such call waited its turn (a tenth of the
    importing thread's time beside a million acts, issue #14). The pool is a deque (its
    appends and pops are atomic, so two threads never take the same bits) and is emptied
    in a forked child, so a parent and its child never hand out the same bits."""
    while True:
        try:
            return _pool.popleft()
        except IndexError:
            data = os.urandom(10 * _POOL_DRAWS)
            _pool.extend(int.from_bytes(data[i : i + 10]) for i in range(0, len(data), 10))


_POOL_DRAWS = 400
_pool: deque[int] = deque()
os.register_at_fork(after_in_child=_pool.clear)


def new_public_code(prefix: str) -> str:
    # Ten pooled random bytes a code, not eight `secrets.choice` calls: an import draws one
    # per person and per event (issue #14). Ten give 8 usable ones all but ~5% of the time.
    chars = ""
    while len(chars) < 8:
        chars += "".join(ALPHABET[b % len(ALPHABET)] for b in _random80().to_bytes(10) if b < _EVEN)
    chars = chars[:8]
    return f"{prefix}-{chars[:4]}-{chars[4:]}"


def uuid7() -> uuid.UUID:
    """A version-7 UUID (RFC 9562): the Unix time in milliseconds, then 74 random bits.

    For rows written by the million (an import's identities): ids drawn one after another
    sort together, so an index on them (the blind-index rows' identity key) grows at its
    end instead of at random places. Unguessable as uuid4 is within a millisecond; the
    time it shows is the row's creation, which the row keeps anyway.
    """
    random = _random80()  # 80 bits: 12 for rand_a, 62 for rand_b
    rand_a, rand_b = random >> 68, random & ((1 << 62) - 1)
    millis = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    return uuid.UUID(int=millis << 80 | 0x7 << 76 | rand_a << 64 | 0x2 << 62 | rand_b)


_PUBLIC_CODE = re.compile(rf"^[A-Z]{{1,3}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")
_ID = re.compile(r"^(?:\d{1,20}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def is_public_code(value: str) -> bool:
    """True for a well-formed public code such as P-7KQ2-M9XD (any prefix)."""
    return bool(_PUBLIC_CODE.match(value))


def is_code_or_id(value: str) -> bool:
    """A public code, a whole-number id or a UUID: what may name an object in the audit log."""
    return bool(_PUBLIC_CODE.match(value) or _ID.match(value.lower()))


def give_unique_codes(model: Any, objs: Sequence[Any], field: str = "code") -> None:
    """Before a bulk insert of `objs` (unsaved instances of `model` with random public codes):
    give a new code to any that shares one with another of them or with a stored row.

    Codes are 8 random characters of 30 (6.6 × 10¹¹): by the birthday bound, 100,000 new codes
    beside 1,000,000 stored ones collide about once in eight imports, and a bulk insert is all
    or none, so one clash would refuse the whole file. The unique constraint still stands
    behind this for a writer racing the import."""
    from django.db import connection

    stored = model._default_manager
    # One query for them all on PostgreSQL (a chunk's 5,000 codes: each query of 500 cost an
    # import's background writer 15 ms); SQLite's bound on parameters may be 999.
    step = 500 if connection.vendor == "sqlite" else max(1, len(objs))
    while True:
        holders: dict[str, list[Any]] = {}
        for obj in objs:
            holders.setdefault(getattr(obj, field), []).append(obj)
        codes = list(holders)
        taken: set[str] = set()
        for start in range(0, len(codes), step):
            chunk = codes[start : start + step]
            taken.update(stored.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))
        again = [obj for code, objs_ in holders.items() for obj in objs_[code not in taken :]]
        if not again:
            return
        for obj in again:
            setattr(obj, field, new_public_code(getattr(obj, field).split("-", 1)[0]))
