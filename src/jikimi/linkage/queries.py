"""Query helpers the linkage modules share: bounded `IN (…)` lists and ids from callers.

Whom an organisation can see (the population of candidates and of term frequencies) is
people.services.people_seen_by, the one definition."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

#: Ids or digests per `IN (…)` list (SQLite builds may allow only 32,766 parameters).
IN_LIST_SIZE = 5000


def parts(items: Sequence[Any], size: int = IN_LIST_SIZE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def as_uuid(value: Any) -> uuid.UUID:
    """An id from a URL or a caller; anything else matches nothing (NotFound, like any
    unknown id)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)
