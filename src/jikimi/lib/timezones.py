"""The IANA time zones a person or an organisation can be in, for every door that takes
one (the check-in enrolment, the organisation's settings).

Checked against the list of zones rather than by opening one: `ZoneInfo("Asia")` opens a
directory of the system's tzdata (an OSError, not ZoneInfoNotFoundError, on some
machines), and names like "localtime" or "posixrules" are files there but no place anyone
lives in.
"""

from __future__ import annotations

import functools
import zoneinfo

# Files of the system's tzdata that are no place: the machine's own zone and tzdata's
# internals. (Which of them `available_timezones` lists depends on the machine.)
_NOT_PLACES = {"localtime", "posixrules", "Factory"}


@functools.cache
def zones() -> frozenset[str]:
    """Every listed zone that is a place. Read once: `available_timezones()` walks the tz
    database on disk, and the pages ask on every request."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


def is_zone(name: object) -> bool:
    """Whether `name` is one of `zones()` and its zone data can be read."""
    if not isinstance(name, str) or name not in zones():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
