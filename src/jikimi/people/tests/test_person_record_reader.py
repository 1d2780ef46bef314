"""One reader of the person-record format: the importer and the people pages accept and
reject the same values (issue 11: they differed); the engine: linkage/tests/test_person_records."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from jikimi.people import importer, services
from jikimi.people.models import Identity


@pytest.fixture
def person(staff):
    return services.create_person(staff["caseworker"], name="이지현", birth_year=1988)


@pytest.mark.nodb
def test_the_importer_accepts_the_province_codes_the_form_and_api_use() -> None:
    # Issue 11: KP-01 ... KP-05 were rejected by the importer.
    rows = [
        {"record_id": f"P{n}", "source": "a", "name": "Kim", "province": f"KP-{n:02d}"}
        for n in (1, 2, 3, 4, 5, 9, 15)
    ]
    clean, problems = importer.validate(rows)
    assert problems == []
    assert [row["province"] for row in clean] == [r["province"] for r in rows]


@pytest.mark.parametrize(
    "value,message",
    [
        ("1985-13-45", "month 13 is not between 1 and 12"),
        ("1985-02-30", "day 30 does not exist in 1985-02"),
        ("abc", "abc is not a date: write YYYY, YYYY-MM or YYYY-MM-DD"),
        ("2099-01-01", "2099-01-01 is in the future"),
    ],
)
def test_the_people_page_rejects_the_birth_dates_the_importer_rejects(
    client, staff, login, person, value, message
):
    _, problems = importer.validate(
        [{"record_id": "X", "source": "a", "name": "Kim", "birth_date": value}]
    )
    assert [p.reason for p in problems] == [message]
    login(client, staff["caseworker"])
    url = reverse("people:add_identity", args=[person.code])
    with translation.override("en"):
        bad = client.post(url, {"kind": "birth_date", "value": value}, HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400 and message in bad.content.decode()
    assert not Identity.objects.filter(person=person, kind="birth_date").exists()


def test_the_birth_date_message_is_in_korean_for_a_korean_user(staff, person):
    with translation.override("ko"), pytest.raises(services.InvalidInput) as exc:
        services.add_identity(staff["caseworker"], person, kind="birth_date", value="1985-13-45")
    assert exc.value.errors["value"] == "월 13은(는) 1에서 12 사이가 아닙니다"


def test_a_birth_date_is_stored_in_the_form_the_importer_stores(staff, person):
    identity = services.add_identity(
        staff["caseworker"], person, kind="birth_date", value="1957.1.5"
    )
    assert identity.value == "1957-01-05"
