"""The person-record format (DESIGN §8): its columns and the one reader of its fields.

`jikimi import people` (people.importer), `jikimi link` (linkage.engine) and the people
pages read these fields with the functions below, so a value one of them accepts the others
accept too, and a value one rejects the others reject with the same message. Pure Python:
the file handling (CSV, XLSX, row numbers) and what a problem means (the importer refuses
the file, the engine warns and links the row on the fields it has) stay with the callers.

A problem is a `FieldError` with a `code` and `params`; `message(gettext)` gives the text
(English without a translator: the file commands).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from jikimi.lib import dates, korean
from jikimi.lib.i18n import gettext_noop

__all__ = [
    "COLUMNS",
    "MESSAGES",
    "OPTIONAL",
    "REQUIRED",
    "FieldError",
    "PersonRecord",
    "normalise_phone",
    "parse_record",
    "read_birth_date",
    "read_defection_year",
    "read_phone",
    "read_province",
    "read_sex",
]

REQUIRED = ("record_id", "source", "name")
OPTIONAL = (
    "name_hangul",
    "birth_date",
    "sex",
    "province",
    "county",
    "defection_year",
    "phone",
    "notes",
)
COLUMNS = REQUIRED + OPTIONAL

NAME_MAX = 200
NOTES_MAX = 5000
DEFECTION_MIN_YEAR = 1950
PHONE_MIN_DIGITS = 6

MESSAGES: dict[str, str] = {
    **dates.MESSAGES,
    "required": gettext_noop("is empty (required)"),
    "too_long": gettext_noop("longer than %(limit)s characters"),
    "sex": gettext_noop("'%(value)s' is not M or F"),
    "province": gettext_noop("'%(value)s' is not a province of North Korea this system knows"),
    "defection_year": gettext_noop("'%(value)s' is not a year %(low)s–%(high)s"),
    "phone": gettext_noop("'%(value)s' has fewer than 6 digits"),
}


class FieldError(ValueError):
    """One field's problem: `code` is a key of `MESSAGES`, `params` fill its template."""

    def __init__(self, column: str, code: str, **params: object) -> None:
        super().__init__(f"{column}: {MESSAGES[code] % params}")
        self.column = column
        self.code = code
        self.params = params

    def message(self, translate: Callable[[str], str] = str) -> str:
        return translate(MESSAGES[self.code]) % self.params


@dataclass(frozen=True)
class PersonRecord:
    """One row, normalised: empty strings and None where a field is empty or was rejected."""

    record_id: str
    source: str
    name: str
    name_hangul: str = ""
    birth_date: dates.PartialDate | None = None
    sex: str = ""  # "M", "F" or ""
    province: str = ""  # ISO 3166-2:KP code or ""
    county: str = ""
    defection_year: int | None = None
    phone: str = ""
    notes: str = ""


def read_birth_date(text: str, *, today: dt.date | None = None) -> dates.PartialDate | None:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, not in the future; None when empty."""
    if not text.strip():
        return None
    try:
        return dates.parse_partial_date(text, not_after=today or dt.date.today())
    except dates.DateError as exc:
        raise FieldError("birth_date", exc.code, **exc.params) from None


_SEXES = {"M": "M", "F": "F", "MALE": "M", "FEMALE": "F", "남": "M", "여": "F"}


def read_sex(text: str) -> str:
    value = text.strip()
    if not value:
        return ""
    try:
        return _SEXES[value.upper()]
    except KeyError:
        raise FieldError("sex", "sex", value=value) from None


def read_province(text: str) -> str:
    """Any spelling (함경북도, 함북, North Hamgyong, KP-09) → its ISO code; "" when empty."""
    if not text.strip():
        return ""
    code = korean.province_code(text)
    if code is None:
        raise FieldError("province", "province", value=text.strip())
    return code


def read_defection_year(text: str, *, today: dt.date | None = None) -> int | None:
    value = text.strip()
    if not value:
        return None
    high = (today or dt.date.today()).year
    if not value.isdigit() or not DEFECTION_MIN_YEAR <= int(value) <= high:
        raise FieldError(
            "defection_year", "defection_year", value=value, low=DEFECTION_MIN_YEAR, high=high
        )
    return int(value)


def normalise_phone(value: str) -> str:
    """Digits only, a South Korean +82 prefix as the domestic 0 (+82 10-… → 010…)."""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("82") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def read_phone(text: str) -> str:
    value = text.strip()
    if value and len(normalise_phone(value)) < PHONE_MIN_DIGITS:
        raise FieldError("phone", "phone", value=value)
    return value


def _text(row: Mapping[str, str], column: str, limit: int | None) -> str:
    value = (row.get(column) or "").strip()
    if column in REQUIRED and not value:
        raise FieldError(column, "required")
    if limit is not None and len(value) > limit:
        raise FieldError(column, "too_long", limit=limit)
    return value


_TEXT_LIMITS: dict[str, int | None] = {
    "record_id": None,
    "source": None,
    "name": NAME_MAX,
    "name_hangul": NAME_MAX,
    "county": None,  # the importer keeps SourceRecord.county's 64 characters
    "notes": NOTES_MAX,
}


def parse_record(
    row: Mapping[str, str], *, today: dt.date | None = None
) -> tuple[PersonRecord, list[FieldError]]:
    """A row (column → text) as a normalised record and every field's problem.

    A rejected field is left empty in the record, so a reader that only warns (the engine)
    links the row on the fields it has.
    """
    today = today or dt.date.today()
    errors: list[FieldError] = []
    values: dict[str, object] = {}
    readers: dict[str, Callable[[str], object]] = {
        "birth_date": lambda text: read_birth_date(text, today=today),
        "sex": read_sex,
        "province": read_province,
        "defection_year": lambda text: read_defection_year(text, today=today),
        "phone": read_phone,
    }
    for column in COLUMNS:
        try:
            if column in readers:
                values[column] = readers[column](row.get(column) or "")
            else:
                values[column] = _text(row, column, _TEXT_LIMITS[column])
        except FieldError as exc:
            errors.append(exc)
            values[column] = None if column in ("birth_date", "defection_year") else ""
    return PersonRecord(**values), errors  # type: ignore[arg-type]
