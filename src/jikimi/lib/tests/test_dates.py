"""Partial dates with precision, ranges, and the errors callers translate."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jikimi.lib.dates import (
    MESSAGES,
    DateError,
    DateRange,
    PartialDate,
    Precision,
    parse_date_range,
    parse_partial_date,
)

pytestmark = pytest.mark.nodb
TODAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    "text,expected,precision",
    [
        ("1957", PartialDate(1957), Precision.YEAR),
        ("1957-10", PartialDate(1957, 10), Precision.MONTH),
        ("1957-10-12", PartialDate(1957, 10, 12), Precision.DAY),
        (" 1957.1.5 ", PartialDate(1957, 1, 5), Precision.DAY),
        ("2024-02-29", PartialDate(2024, 2, 29), Precision.DAY),
    ],
)
def test_the_three_forms_read_to_their_precision(text, expected, precision) -> None:
    date = parse_partial_date(text, not_after=TODAY)
    assert date == expected and date.precision == precision


@pytest.mark.parametrize(
    "text,code,params",
    [
        ("1985-13-45", "month", {"month": 13}),
        ("1985-02-45", "day", {"day": 45, "year": 1985, "month": 2}),
        ("2023-02-29", "day", {"day": 29, "year": 2023, "month": 2}),
        ("abc", "format", {"value": "abc"}),
        ("1957/10/12", "format", {"value": "1957/10/12"}),
        ("1957-10.12", "format", {"value": "1957-10.12"}),
        ("2099-01-01", "future", {"value": "2099-01-01"}),
        ("2026-12-02", "future", {"value": "2026-12-02"}),
        ("1850", "year", {"year": 1850, "low": 1900}),
        ("", "empty", {}),
        ("1957~", "approximate", {"value": "1957~"}),
    ],
)
def test_each_problem_has_its_own_code_and_params(text, code, params) -> None:
    with pytest.raises(DateError) as exc:
        parse_partial_date(text, not_after=TODAY)
    assert (exc.value.code, exc.value.params) == (code, params)
    assert str(exc.value) == MESSAGES[code] % params


def test_this_month_and_year_are_not_the_future() -> None:
    assert parse_partial_date("2026", not_after=TODAY) == PartialDate(2026)
    assert parse_partial_date("2026-12", not_after=TODAY) == PartialDate(2026, 12)


def test_ranges_and_approximate_dates() -> None:
    assert parse_date_range("2019-03/2019-05") == DateRange(
        PartialDate(2019, 3), PartialDate(2019, 5)
    )
    single = parse_date_range("2019~")
    assert single.start == single.end == PartialDate(2019, approximate=True)
    assert str(single) == "2019~"
    assert str(parse_date_range("2019-03/2019-05-02")) == "2019-03/2019-05-02"
    # A range may end in the month it starts: 2019-03-10 lies within 2019-03.
    assert parse_date_range("2019-03/2019-03-10").end == PartialDate(2019, 3, 10)


def test_a_range_that_ends_before_it_starts_says_so() -> None:
    with pytest.raises(DateError) as exc:
        parse_date_range("2019-05/2019-03")
    assert exc.value.code == "range_order"
    assert exc.value.params == {"start": "2019-05", "end": "2019-03"}


def test_earliest_and_latest_days_follow_the_precision() -> None:
    assert PartialDate(2024, 2).latest() == dt.date(2024, 2, 29)
    assert PartialDate(1957).earliest() == dt.date(1957, 1, 1)
    assert PartialDate(1957).latest() == dt.date(1957, 12, 31)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY), st.sampled_from(Precision))
def test_a_written_date_reads_back_as_itself(day: dt.date, precision: Precision) -> None:
    date = PartialDate(
        day.year,
        None if precision == Precision.YEAR else day.month,
        day.day if precision == Precision.DAY else None,
    )
    assert parse_partial_date(str(date), not_after=TODAY) == date
    assert date.earliest() <= day <= date.latest()


@given(st.text(max_size=12))
def test_any_text_is_a_date_or_a_date_error(text: str) -> None:
    try:
        parse_date_range(text, not_after=TODAY)
    except DateError as exc:
        assert exc.code in MESSAGES
