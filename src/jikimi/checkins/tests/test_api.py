"""The check-in REST API: the same services, the same access rules, audited."""

from __future__ import annotations

import pytest
from django.test import Client

from jikimi.audit.models import AuditEvent
from jikimi.checkins.monitor import run_once
from jikimi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_enrols_and_lists(api, person):
    client = api("caseworker")
    response = client.post(
        "/api/checkins/enrolments/",
        {
            "person": person.code,
            "weekly_slots": [[0, "09:00"], [3, "18:00"]],
            "timezone": "Asia/Seoul",
            "grace_minutes": 120,
            "channels": ["web"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "/c/setup/" in response.json()["setup_url"]
    listed = client.get("/api/checkins/enrolments/").json()
    assert [e["person"] for e in listed] == [person.code]
    assert (
        client.post(
            "/api/checkins/enrolments/", {"person": person.code, "interval_hours": 4}, format="json"
        ).status_code
        == 400
    )


def test_it_acknowledges_and_closes_alerts(api, enrol):
    enrolment, token = enrol()
    Client().post(f"/c/{token}", {"pin": "1397"})
    run_once(deliver=False)
    client = api("supervisor")
    [alert] = client.get("/api/checkins/alerts/").json()
    assert alert["kind"] == "duress" and alert["priority"] == 0
    assert client.post(f"/api/checkins/alerts/{alert['id']}/ack").json()["state"] == "acknowledged"
    assert (
        client.post(
            f"/api/checkins/alerts/{alert['id']}/close", {"reason": ""}, format="json"
        ).status_code
        == 400
    )
    closed = client.post(
        f"/api/checkins/alerts/{alert['id']}/close", {"reason": "safe"}, format="json"
    ).json()
    assert closed["state"] == "closed"
    assert client.get("/api/checkins/alerts/").json() == []
    timeline = client.get(f"/api/checkins/enrolments/{enrolment.pk}/timeline").json()
    assert {e["kind"] for e in timeline} == {"duress"}
    assert AuditEvent.objects.filter(action="checkin_alert.close").exists()


def test_it_hides_other_organisations(api, enrol):
    enrolment, _ = enrol()
    client = api("outsider")
    assert client.get(f"/api/checkins/enrolments/{enrolment.pk}/").status_code == 404
    assert client.get("/api/checkins/enrolments/").json() == []
    assert api("analyst").get("/api/checkins/alerts/").status_code == 403


def test_it_pauses_and_resumes(api, enrol):
    enrolment, _ = enrol()
    client = api("caseworker")
    from datetime import timedelta

    from django.utils import timezone

    until = (timezone.now() + timedelta(days=3)).isoformat()
    paused = client.post(
        f"/api/checkins/enrolments/{enrolment.pk}/pause",
        {"until": until, "reason": "travel"},
        format="json",
    )
    assert paused.json()["status"] == "paused"
    resumed = client.post(f"/api/checkins/enrolments/{enrolment.pk}/resume")
    assert resumed.json()["status"] == "active"


def test_it_creates_policies_for_supervisors_only(api):
    steps = [{"after_minutes": 0, "to": "caseworker"}, {"after_minutes": 30, "to": "supervisors"}]
    assert (
        api("caseworker")
        .post("/api/checkins/policies/", {"name": "fast", "steps": steps}, format="json")
        .status_code
        == 403
    )
    response = api("supervisor").post(
        "/api/checkins/policies/",
        {"name": "fast", "steps": steps, "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201
    bad = api("supervisor").post(
        "/api/checkins/policies/",
        {"name": "bad", "steps": [{"after_minutes": 0, "to": "x"}], "password": PASSWORD},
        format="json",
    )
    assert bad.status_code == 400
