"""Values that looked valid to a parser but not to the rest of the system are refused at
the door, the same on the API and the page, and change nothing: a time zone that is no zone
("Asia", a directory of tzdata; 24 letters; "localtime", a file of it), and a ladder step so
late that adding it to a date would overflow in the monitor pass and stop every alert."""

from __future__ import annotations

import pytest

from jikimi.alerts.models import EscalationPolicy
from jikimi.checkins.models import Enrolment
from jikimi.checkins.monitor import run_once
from jikimi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NOT_ZONES = ["Asia", "ABCDEFGHIJKLMNOPQRSTUVWX", "localtime", "posixrules", "Asia/../Asia/Seoul"]


@pytest.mark.parametrize("zone", NOT_ZONES)
def test_the_api_refuses_a_time_zone_that_is_no_zone(api, person, zone):
    response = api("caseworker").post(
        "/api/checkins/enrolments/",
        {"person": person.code, "interval_hours": 24, "timezone": zone, "channels": ["web"]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "timezone" in response.json()
    assert not Enrolment.objects.exists()


@pytest.mark.parametrize("zone", NOT_ZONES[:2])
def test_the_page_refuses_a_time_zone_that_is_no_zone(client, login, staff, person, zone):
    login(client, staff["caseworker"])
    response = client.post(
        f"/checkins/enrol/{person.code}",
        {"interval_hours": "24", "grace_minutes": "90", "channels": ["web"], "timezone": zone},
    )
    assert response.status_code in (200, 400)
    assert b"/c/setup/" not in response.content
    assert not Enrolment.objects.exists()


def test_a_real_zone_is_accepted(api, person):
    response = api("caseworker").post(
        "/api/checkins/enrolments/",
        {"person": person.code, "interval_hours": 24, "timezone": "Europe/London"},
        format="json",
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("field", "steps", "repeat"),
    [
        ("steps", [{"after_minutes": 10**20, "to": "caseworker"}], 60),
        (
            "steps",
            [
                {"after_minutes": 0, "to": "caseworker"},
                {"after_minutes": 43201, "to": "supervisors"},
            ],
            60,
        ),
        ("repeat_minutes", [{"after_minutes": 0, "to": "caseworker"}], 10**20),
    ],
)
def test_the_api_refuses_a_ladder_beyond_its_bounds(api, field, steps, repeat):
    before = EscalationPolicy.objects.count()
    response = api("supervisor").post(
        "/api/checkins/policies/",
        {"name": "late", "steps": steps, "repeat_minutes": repeat, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert EscalationPolicy.objects.count() == before
    run_once()  # and the monitor still runs


def test_a_ladder_at_its_bounds_is_accepted(api):
    response = api("supervisor").post(
        "/api/checkins/policies/",
        {
            "name": "slow",
            "steps": [
                {"after_minutes": 0, "to": "caseworker"},
                {"after_minutes": 43200, "to": "supervisors"},
            ],
            "repeat_minutes": 10080,
            "password": PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
