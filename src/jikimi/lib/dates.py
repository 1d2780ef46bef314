"""Partial dates with precision, and ranges of them (DESIGN §2, layer 0, pure Python).

A birth date is often known only to the year or the month ("1957", "1957-10"); an incident
is known to within a range ("2019-03/2019-05") or only approximately ("2019~", EDTF's mark).
`parse_partial_date` and `parse_date_range` are the one reader of these forms: the person
record importer, the linkage engine and the people pages all call them, so they accept and
reject the same texts.

Problems are `DateError`s with a `code` and `params`, never a finished sentence: the callers
translate `MESSAGES[code] % params` (Django's `gettext`, or English in a file command).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache, partial

from jikimi.lib.i18n import gettext_noop

__all__ = [
    "MESSAGES",
    "MIN_YEAR",
    "DateError",
    "DateRange",
    "PartialDate",
    "Precision",
    "parse_date_range",
    "parse_partial_date",
]

MIN_YEAR = 1900  # the oldest year a person record or an incident of this system can carry


class Precision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


# English templates, extracted by makemessages (`gettext_noop`), translated by the callers.
MESSAGES: dict[str, str] = {
    "empty": gettext_noop("a date is required"),
    "format": gettext_noop("%(value)s is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
    "approximate": gettext_noop("%(value)s: an approximate date (~) is not allowed here"),
    "year": gettext_noop("year %(year)s is before %(low)s"),
    "month": gettext_noop("month %(month)s is not between 1 and 12"),
    "day": gettext_noop("day %(day)s does not exist in %(year)s-%(month)02d"),
    "future": gettext_noop("%(value)s is in the future"),
    "range_order": gettext_noop("the range ends (%(end)s) before it starts (%(start)s)"),
}


class DateError(ValueError):
    """A text that is not an acceptable date: `code` is a key of `MESSAGES`."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(MESSAGES[code] % params)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class PartialDate:
    """A date known to the day, the month or the year; `approximate` is EDTF's `~`."""

    year: int
    month: int | None = None
    day: int | None = None
    approximate: bool = False

    @property
    def precision(self) -> Precision:
        if self.day is not None:
            return Precision.DAY
        return Precision.MONTH if self.month is not None else Precision.YEAR

    def earliest(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> dt.date:
        month = self.month or 12
        return dt.date(self.year, month, self.day or calendar.monthrange(self.year, month)[1])

    def iso(self) -> str:
        """`1957`, `1957-10` or `1957-10-12` (without the approximate mark)."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __str__(self) -> str:
        return self.iso() + ("~" if self.approximate else "")


@dataclass(frozen=True)
class DateRange:
    """From the earliest day of `start` to the latest day of `end` (inclusive)."""

    start: PartialDate
    end: PartialDate

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}/{self.end}"


# YYYY, YYYY-MM, YYYY-MM-DD; `.` is accepted as a separator (1957.10.12, common in Korean
# lists) and months and days of one digit; `/` is not, as it separates a range's two ends.
_DATE = re.compile(r"(\d{4})(?:([-.])(\d{1,2})(?:\2(\d{1,2}))?)?")


@lru_cache(maxsize=1 << 16)  # pure, its PartialDate immutable: an import reads each date once
def parse_partial_date(
    text: str,
    *,
    approximate: bool = False,
    not_after: dt.date | None = None,
    min_year: int = MIN_YEAR,
) -> PartialDate:
    """Read one partial date; raise DateError naming what is wrong.

    `approximate` allows the `~` mark; `not_after` (today, for a birth date) rejects a date
    whose earliest day is later.
    """
    value = text.strip()
    if not value:
        raise DateError("empty")
    marked = value.endswith("~")
    body = value[:-1].rstrip() if marked else value
    match = _DATE.fullmatch(body)
    if not match:
        raise DateError("format", value=value)
    if marked and not approximate:
        raise DateError("approximate", value=value)
    year = int(match.group(1))
    month = int(match.group(3)) if match.group(3) else None
    day = int(match.group(4)) if match.group(4) else None
    if year < min_year:
        raise DateError("year", year=year, low=min_year)
    if month is not None and not 1 <= month <= 12:
        raise DateError("month", month=month)
    if (
        month is not None
        and day is not None
        and not 1 <= day <= calendar.monthrange(year, month)[1]
    ):
        raise DateError("day", day=day, year=year, month=month)
    date = PartialDate(year, month, day, marked)
    if not_after is not None and date.earliest() > not_after:
        raise DateError("future", value=date.iso())
    return date


def parse_date_range(
    text: str, *, not_after: dt.date | None = None, min_year: int = MIN_YEAR
) -> DateRange:
    """`start/end` of two partial dates, or one partial date (a range of itself); either end
    may be approximate (`2019~`)."""
    first, slash, second = text.partition("/")
    read = partial(parse_partial_date, approximate=True, not_after=not_after, min_year=min_year)
    start = read(first)
    if not slash:
        return DateRange(start, start)
    end = read(second)
    if end.latest() < start.earliest():
        raise DateError("range_order", start=str(start), end=str(end))
    return DateRange(start, end)
