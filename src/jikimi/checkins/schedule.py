"""When the next check-in is due. Pure functions of the schedule and a moment."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jikimi.lib import timezones

# A check-in up to this long before a weekly slot counts for that slot (a person who checks
# in on Sunday evening for Monday morning is not "missed" on Monday).
EARLY_WINDOW = timedelta(hours=6)


def valid_timezone(name: str) -> bool:
    """An IANA zone name a person can be in ("Asia/Seoul"): `jikimi.lib.timezones`."""
    return timezones.is_zone(name)


def parse_slots(slots: list) -> list[tuple[int, time]]:
    """[[weekday, "HH:MM"], …] → [(weekday, time)]; raises ValueError when malformed."""
    parsed = []
    for slot in slots:
        weekday, hhmm = slot
        weekday = int(weekday)
        if not 0 <= weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) … 6 (Sunday)")
        hours, minutes = (int(x) for x in str(hhmm).split(":"))
        parsed.append((weekday, time(hours, minutes)))
    if not parsed:
        raise ValueError("at least one weekly slot is needed")
    return sorted(parsed)


def next_due(
    *, interval_hours: int | None, weekly_slots: list, tz: str, after: datetime
) -> datetime:
    """The deadline for the check-in that follows a check-in (or activation) at `after`.

    Weekly slots are wall-clock times in the person's zone, computed per day, so a slot at
    09:00 stays at 09:00 local time across daylight-saving changes (a slot that falls in a
    spring-forward gap resolves to the instant after the gap, via zoneinfo's fold=0).
    """
    if interval_hours:
        return after + timedelta(hours=interval_hours)
    zone = ZoneInfo(tz)
    earliest = (after + EARLY_WINDOW).astimezone(zone)
    slots = parse_slots(weekly_slots)
    for days in range(0, 8):
        day = earliest.date() + timedelta(days=days)
        for weekday, at in slots:
            if day.weekday() != weekday:
                continue
            candidate = datetime.combine(day, at, tzinfo=zone)
            if candidate > earliest:
                return candidate.astimezone(after.tzinfo)
    raise ValueError("no weekly slot found")  # pragma: no cover - parse_slots forbids it
