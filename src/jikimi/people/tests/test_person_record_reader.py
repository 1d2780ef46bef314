"""One reader of the person-record format: the importer, the engine and the people pages
accept and reject the same values (issue 11: they differed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from jikimi.linkage import engine
from jikimi.people import importer, services
from jikimi.people.models import Identity

ROWS = [
    {"record_id": "R1", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990-05-01"},
    {"record_id": "R2", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990.5.1"},
    {"record_id": "R3", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990-5"},
    {"record_id": "R4", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990"},
    {"record_id": "R5", "source": "a", "name": "Kim Ok-sun", "birth_date": "1985-13-45"},
    {"record_id": "R6", "source": "a", "name": "Kim Ok-sun", "birth_date": "1985-02-30"},
    {"record_id": "R7", "source": "a", "name": "Kim Ok-sun", "birth_date": "abc"},
    {"record_id": "R8", "source": "a", "name": "Kim Ok-sun", "birth_date": "2099-01-01"},
    {"record_id": "R9", "source": "a", "name": "Kim Ok-sun", "birth_date": "1957/10/12"},
    {"record_id": "R10", "source": "a", "name": "Kim", "sex": "m", "province": "KP-01"},
    {"record_id": "R11", "source": "a", "name": "Kim", "sex": "X", "province": "KP-05"},
    {
        "record_id": "R12",
        "source": "a",
        "name": "Kim",
        "province": "평남",
        "defection_year": "1940",
    },
    {"record_id": "R13", "source": "a", "name": "Kim", "province": "Atlantis"},
]
COLUMNS = ("birth_date", "sex", "province", "defection_year")


@pytest.fixture
def person(staff):
    return services.create_person(staff["caseworker"], name="이지현", birth_year=1988)


@pytest.mark.nodb
def test_the_importer_and_the_engine_read_the_same_rows_alike(tmp_path: Path) -> None:
    header = ["record_id", "source", "name", *COLUMNS]
    path = tmp_path / "people.csv"
    path.write_text(
        "\n".join([",".join(header), *(",".join(r.get(c, "") for c in header) for r in ROWS)]),
        encoding="utf-8",
    )
    records = engine.read_records([path])
    derived = engine.derive_columns(records)
    clean, problems = importer.validate([{c: r.get(c, "") for c in header} for r in ROWS])

    rejected_by_importer = {(p.row, p.column) for p in problems}
    warned_by_engine = {
        (int(w.split("row ")[1].split(":")[0]), w.split("column '")[1].split("'")[0])
        for w in records.warnings
        if "column 'name'" not in w
    }
    assert rejected_by_importer == warned_by_engine
    assert {p.column for p in problems} == {"birth_date", "sex", "province", "defection_year"}
    # What both accept, they read to the same values.
    for row, out in zip(range(len(ROWS)), clean, strict=True):
        line = derived.iloc[row]
        year = (
            None
            if line["birth_year"] is None or str(line["birth_year"]) == "<NA>"
            else int(line["birth_year"])
        )
        assert out["birth_year"] == year
        assert out["birth_date"] == (
            line["birth_full"] or line["birth_ym"] or (str(year) if year else "")
        )
        assert out["sex"] == (line["sex"] or "")
        assert out["province"] == (line["province_code"] or "")


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
