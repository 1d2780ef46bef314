"""The alert board, an alert (acknowledge, close), the timeline, enrolment from a page."""

from __future__ import annotations

import pytest
from django.test import Client

from jikimi.alerts.models import Alert
from jikimi.checkins.models import Enrolment
from jikimi.checkins.monitor import run_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def duress_and_missed(enrol, staff, person):
    from jikimi.people import services as people

    enrolment, token = enrol(is_drill=True)
    Client().post(f"/c/{token}", {"pin": "1397"})
    other = people.create_person(staff["caseworker"], name="최민수")
    people.record_consent(staff["caseworker"], other, purpose="checkins", granted=True)
    run_once(deliver=False)
    return enrolment


def test_it_lists_duress_first_and_marks_drills(client, login, staff, duress_and_missed):
    login(client, staff["caseworker"])
    response = client.get("/checkins/")
    assert response.status_code == 200
    assert b"DRILL" in response.content and b"board.js" in response.content
    fragment = client.get("/checkins/?fragment=1")
    assert b"<html" not in fragment.content and b"alert-duress" in fragment.content


def test_it_hides_the_board_from_analysts_and_other_orgs(client, login, staff, duress_and_missed):
    alert = Alert.objects.get()
    login(client, staff["outsider"])
    assert client.get(f"/checkins/alerts/{alert.pk}").status_code == 404
    assert b"alert-duress" not in client.get("/checkins/?fragment=1").content
    login(client, staff["analyst"])
    assert client.get("/checkins/").status_code == 403


def test_it_acknowledges_and_closes_with_a_reason(client, login, staff, duress_and_missed):
    alert = Alert.objects.get()
    login(client, staff["supervisor"])
    assert client.get(f"/checkins/alerts/{alert.pk}").status_code == 200
    client.post(f"/checkins/alerts/{alert.pk}/ack")
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.acknowledged_by == staff["supervisor"]
    client.post(f"/checkins/alerts/{alert.pk}/close", {"reason": ""})
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    client.post(f"/checkins/alerts/{alert.pk}/close", {"reason": "false alarm, confirmed"})
    alert.refresh_from_db()
    assert alert.state == "closed"


def test_it_shows_the_timeline(client, login, staff, duress_and_missed):
    login(client, staff["caseworker"])
    response = client.get(f"/checkins/enrolments/{duress_and_missed.pk}")
    assert response.status_code == 200
    assert b"checkin-duress" in response.content and b"DRILL" in response.content


def test_it_enrols_from_the_page(client, login, staff, person):
    login(client, staff["caseworker"])
    assert client.get(f"/checkins/enrol/{person.code}").status_code == 200
    response = client.post(
        f"/checkins/enrol/{person.code}",
        {
            "interval_hours": "24",
            "grace_minutes": "90",
            "channels": ["web"],
            "timezone": "Asia/Seoul",
            "language": "ko",
        },
    )
    assert response.status_code == 200 and b"/c/setup/" in response.content
    assert Enrolment.objects.get().grace_minutes == 90
