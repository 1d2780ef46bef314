"""Query helpers the linkage modules share: bounded `IN (…)` lists and the people an
organisation can see (its own and those shared with it), the population of candidates and
of term frequencies alike."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Q

from jikimi.accounts import services as accounts

#: Ids or digests per `IN (…)` list (SQLite builds may allow only 32,766 parameters).
IN_LIST_SIZE = 5000


def parts(items: Sequence[Any], size: int = IN_LIST_SIZE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def people_seen_by(organisation_id: int) -> Q:
    """The people an organisation can see (own and shared): the candidates' population."""
    return Q(organisation_id=organisation_id) | Q(
        id__in=accounts.shared_person_ids(organisation_id)
    )


def rows_seen_by(organisation_id: int) -> Q:
    """Rows with a `person` (IdentityIndex) of the people an organisation can see."""
    return Q(organisation_id=organisation_id) | Q(
        person_id__in=accounts.shared_person_ids(organisation_id)
    )


def as_uuid(value: Any) -> uuid.UUID:
    """An id from a URL or a caller; anything else matches nothing (NotFound, like any
    unknown id)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return uuid.UUID(int=0)
