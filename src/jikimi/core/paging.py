"""`offset` and `limit` from a query string, for every list the API pages."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput

# Larger offsets are no page of any real list, and the databases refuse them in LIMIT/OFFSET
# (SQLite: "Python int too large to convert to SQLite INTEGER"; PostgreSQL: bigint out of
# range), which was a 500.
MAX_OFFSET = 10**9


def offset_limit(
    params: Mapping[str, str], *, default_limit: int = 50, max_limit: int = 200
) -> tuple[int, int]:
    """(offset, limit): a limit outside 1..max_limit is brought into it; an offset or limit
    that is not a whole number, or an offset beyond MAX_OFFSET, is InvalidInput (400)."""
    try:
        offset = int(params.get("offset", 0))
        limit = int(params.get("limit", default_limit))
    except (TypeError, ValueError):
        raise InvalidInput({"offset": _("must be whole numbers")}) from None
    if offset > MAX_OFFSET:
        raise InvalidInput({"offset": _("must be at most %(max)d") % {"max": MAX_OFFSET}})
    return max(0, offset), min(max_limit, max(1, limit))
