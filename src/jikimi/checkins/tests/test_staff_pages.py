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


# --- Errors in words, by the field's label --------------------------------------------------


def _text(response) -> str:
    """The page's visible text, roughly: the markup's tags and attributes left out."""
    import re

    body = response.content.decode()
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ko",
            [
                "유예 기간(분): 0~10,080분(7일) 사이여야 합니다.",
                "동의: 대상자가 안부 확인에 동의하지 않았습니다.",
                "일정: 시간 간격과 매주 정해진 시각 중 하나만 입력하세요.",
            ],
        ),
        (
            "en",
            [
                "Grace period (minutes): Between 0 and 10,080 minutes (7 days).",
                "Consent: The person has not consented to check-ins.",
                "Schedule: Give either a number of hours or weekly times: one of the two.",
            ],
        ),
    ],
)
def test_enrol_errors_name_the_field_by_its_label_in_the_page_language(
    client, login, staff, language, expected
):
    from jikimi.people import services as people

    unconsented = people.create_person(staff["caseworker"], name="이영희")
    login(client, staff["caseworker"])
    response = client.post(
        f"/checkins/enrol/{unconsented.code}",
        {"grace_minutes": "99999", "timezone": "Asia/Seoul", "channels": ["web"]},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    text = " ".join(_text(response).split())
    for line in expected:
        assert line in text, line
    for raw in ("grace_minutes", "interval_hours", "weekly_slots", "consent:", "schedule:"):
        assert raw not in text, raw
    assert not Enrolment.objects.exists()


def test_the_api_keeps_its_error_keys(api_client, api_token, staff):
    from jikimi.people import services as people

    unconsented = people.create_person(staff["caseworker"], name="이영희")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    response = api_client.post(
        "/api/checkins/enrolments/",
        {"person": unconsented.code, "grace_minutes": 99999},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.json()
    assert {"consent", "schedule", "grace_minutes"} <= set(body), body
    assert body["grace_minutes"] == ["Between 0 and 10,080 minutes (7 days)."]


def test_a_pause_day_written_another_way_is_refused_in_words(client, login, staff, enrol):
    from datetime import timedelta

    from django.utils import timezone

    enrolment, _token = enrol()
    login(client, staff["caseworker"])
    url = f"/checkins/enrolments/{enrolment.pk}/pause"
    for day in ("12/20/2026", "2026-13-01", ""):
        response = client.post(
            url, {"pause-until": day, "pause-reason": "출장"}, HTTP_ACCEPT_LANGUAGE="ko"
        )
        assert response.status_code == 400, day
        text = " ".join(_text(response).split())
        assert "일시 중지 종료일:" in text
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    far = client.post(
        url, {"pause-until": "2099-01-01", "pause-reason": "출장"}, HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert far.status_code == 400
    assert "앞으로 60일 이내의 날짜여야 합니다." in _text(far)
    soon = (timezone.localdate() + timedelta(days=5)).isoformat()
    ok = client.post(url, {"pause-until": soon, "pause-reason": "출장"})
    assert ok.status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.status == "paused"
    assert timezone.localtime(enrolment.paused_until).date().isoformat() == soon


# --- Names on the board ---------------------------------------------------------------------


def test_the_board_names_the_person_only_to_roles_that_see_identities(
    client, login, staff, duress_and_missed, person
):
    from jikimi.alerts import services as alerts
    from jikimi.audit.models import AuditEvent
    from jikimi.people import services as people

    login(client, staff["caseworker"])
    board = client.get("/checkins/?fragment=1").content.decode()
    assert "김철수" in board and person.code in board
    assert "김철수" in client.get(f"/checkins/alerts/{Alert.objects.get().pk}").content.decode()
    read = AuditEvent.objects.filter(action="checkin_alert.board").latest("id")
    assert read.detail["named"] == [person.code]
    for role in ("analyst", "auditor"):
        login(client, staff[role])
        response = client.get("/checkins/?fragment=1")
        assert response.status_code == 403 and "김철수" not in response.content.decode()
        # The one rule behind it: people gives no name to a pseudonymous role.
        assert people.display_names(staff[role], [person]) == {}
    # Nor to another organisation's worker, for a person no grant shares.
    assert people.display_names(staff["outsider"], [person]) == {}
    assert people.display_names(staff["caseworker"], [person]) == {person.pk: "김철수"}
    assert [a.subject_name for a in alerts.alert_board(staff["caseworker"])] == ["김철수"]
