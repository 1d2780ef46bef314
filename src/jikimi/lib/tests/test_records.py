"""The one reader of a person record's fields."""

from __future__ import annotations

import datetime as dt

import pytest

from jikimi.lib import records
from jikimi.lib.dates import PartialDate

pytestmark = pytest.mark.nodb
TODAY = dt.date(2026, 12, 1)


def test_a_good_row_is_normalised() -> None:
    record, errors = records.parse_record(
        {
            "record_id": " R1 ",
            "source": "ngo",
            "name": "Kim Ok-sun",
            "birth_date": "1990.5.1",
            "sex": "f",
            "province": "KP-09",
            "defection_year": "2012",
            "phone": "+82 10-1234-5678",
        },
        today=TODAY,
    )
    assert errors == []
    assert record.record_id == "R1"
    assert record.birth_date == PartialDate(1990, 5, 1)
    assert (record.sex, record.province, record.defection_year) == ("F", "KP-09", 2012)
    assert records.normalise_phone(record.phone) == "01012345678"


def test_every_bad_field_is_reported_and_left_empty() -> None:
    record, errors = records.parse_record(
        {
            "record_id": "R2",
            "source": "",
            "name": "x" * 201,
            "birth_date": "1985-13-45",
            "sex": "Q",
            "province": "Atlantis",
            "defection_year": "1900",
            "phone": "12",
        },
        today=TODAY,
    )
    assert [(e.column, e.code) for e in errors] == [
        ("source", "required"),
        ("name", "too_long"),
        ("birth_date", "month"),
        ("sex", "sex"),
        ("province", "province"),
        ("defection_year", "defection_year"),
        ("phone", "phone"),
    ]
    assert record.birth_date is None and record.sex == "" and record.defection_year is None
    assert errors[5].message() == "'1900' is not a year 1950–2026"


def test_messages_are_translated_by_the_caller() -> None:
    with pytest.raises(records.FieldError) as exc:
        records.read_birth_date("abc", today=TODAY)
    assert exc.value.message(lambda template: "» " + template).startswith("» abc is not a date")
