"""Changing an escalation policy is a sensitive action: it asks for the password again
(DESIGN §3) — pages through the session's re-authentication, the API in the request body."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from jikimi.alerts.models import Alert, EscalationPolicy
from jikimi.audit.models import AuditEvent
from jikimi.audit.services import verify_chain
from jikimi.checkins import services
from jikimi.checkins.models import Enrolment, Phase
from jikimi.checkins.monitor import run_pass
from jikimi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STEPS = [{"after_minutes": 0, "to": "caseworker"}, {"after_minutes": 30, "to": "supervisors"}]


@pytest.fixture
def policy(staff):
    return services.create_policy(staff["supervisor"], name="fast", steps=STEPS)


# --- API ------------------------------------------------------------------------------------


def test_api_denies_creating_a_policy_without_the_password(api, staff):
    client = api("supervisor")
    for body in ({"name": "p", "steps": STEPS}, {"name": "p", "steps": STEPS, "password": "x"}):
        response = client.post("/api/checkins/policies/", body, format="json")
        assert response.status_code == 403, response.content
    assert not EscalationPolicy.objects.filter(name="p").exists()
    assert AuditEvent.objects.filter(action="reauth.failed").count() == 2
    staff["supervisor"].refresh_from_db()
    assert staff["supervisor"].failed_logins == 2  # counts towards the lock-out
    ok = client.post(
        "/api/checkins/policies/",
        {"name": "p", "steps": STEPS, "password": PASSWORD},
        format="json",
    )
    assert ok.status_code == 201


def test_api_changes_a_policy_only_with_the_password(api, policy):
    client = api("supervisor")
    url = f"/api/checkins/policies/{policy.pk}/"
    body = {"name": "fast", "steps": [{"after_minutes": 0, "to": "supervisors"}]}
    assert client.put(url, body, format="json").status_code == 403
    policy.refresh_from_db()
    assert policy.steps == STEPS
    response = client.put(url, {**body, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    policy.refresh_from_db()
    assert policy.steps == [{"after_minutes": 0, "to": "supervisors"}]
    assert AuditEvent.objects.filter(action="checkin_policy.update").count() == 1
    # Case workers may not change policies, password or not; other organisations see none.
    assert (
        api("caseworker").put(url, {**body, "password": PASSWORD}, format="json").status_code == 403
    )
    assert api("outsider").get(url).status_code in (403, 404)
    assert verify_chain() is None


def test_api_moves_an_enrolment_to_another_policy_only_with_the_password(api, enrol, policy):
    enrolment, _ = enrol()
    client = api("caseworker")
    url = f"/api/checkins/enrolments/{enrolment.pk}/policy"
    assert client.post(url, {"policy": policy.pk}, format="json").status_code == 403
    assert (
        client.post(url, {"policy": policy.pk, "password": "no"}, format="json").status_code == 403
    )
    enrolment.refresh_from_db()
    assert enrolment.policy_id != policy.pk
    response = client.post(url, {"policy": policy.pk, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    enrolment.refresh_from_db()
    assert enrolment.policy_id == policy.pk


# --- Pages ----------------------------------------------------------------------------------


def test_page_asks_for_the_password_before_changing_a_policy(client, login, staff, policy):
    login(client, staff["supervisor"])
    url = reverse("checkins:policy_edit", args=[policy.pk])
    assert client.get(reverse("checkins:policies")).status_code == 200
    for response in (
        client.get(url),
        client.post(url, {"name": "fast", "steps": "0 supervisors", "repeat_minutes": "30"}),
    ):
        assert response.status_code == 302 and "/accounts/reauth" in response["Location"]
    policy.refresh_from_db()
    assert policy.steps == STEPS  # nothing changed without the password
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": url})
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"name": "fast", "steps": "0 supervisors\n60 trusted_contacts", "repeat_minutes": "30"}
    )
    assert response.status_code == 302, response.content
    policy.refresh_from_db()
    assert policy.steps == [
        {"after_minutes": 0, "to": "supervisors"},
        {"after_minutes": 60, "to": "trusted_contacts"},
    ]
    assert policy.repeat_minutes == 30
    bad = client.post(url, {"name": "fast", "steps": "0 nobody", "repeat_minutes": "30"})
    assert bad.status_code == 400


def test_page_creates_a_policy_after_reauthentication(client, login, staff):
    login(client, staff["supervisor"])
    url = reverse("checkins:policy_new")
    assert "/accounts/reauth" in client.get(url)["Location"]
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": url})
    response = client.post(url, {"name": "new", "steps": "0 caseworker", "repeat_minutes": "60"})
    assert response.status_code == 302
    assert EscalationPolicy.objects.filter(name="new").exists()


def test_page_refuses_policy_changes_to_case_workers(client, login, staff, policy):
    login(client, staff["caseworker"])
    assert client.get(reverse("checkins:policy_edit", args=[policy.pk])).status_code == 403


def test_timeline_asks_for_the_password_before_moving_an_enrolment(
    client, login, staff, enrol, policy
):
    enrolment, _ = enrol()
    login(client, staff["caseworker"])
    url = reverse("checkins:enrolment_action", args=[enrolment.pk, "policy"])
    response = client.post(url, {"policy": policy.pk})
    assert response.status_code == 302 and "/accounts/reauth" in response["Location"]
    enrolment.refresh_from_db()
    assert enrolment.policy_id != policy.pk
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": "/"})
    assert client.post(url, {"policy": policy.pk}).status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.policy_id == policy.pk


def test_a_shortened_policy_does_not_break_a_running_ladder(staff, enrol, policy):
    """Steps removed while a ladder is past them: the monitor clamps, it does not crash."""
    now = timezone.now()
    enrolment, _ = enrol(policy=policy, now=now - timedelta(hours=30))
    run_pass(now)  # missed: the ladder has reached both steps
    enrolment.refresh_from_db()
    assert enrolment.phase == Phase.ESCALATING and enrolment.escalation_step == 2
    services.update_policy(
        staff["supervisor"], policy, name="fast", steps=[{"after_minutes": 0, "to": "caseworker"}]
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(next_action_at=now)
    report = run_pass(now + timedelta(hours=2))
    assert report.processed == 1
    assert Alert.objects.filter(source_ref=str(enrolment.pk), kind="missed").count() == 1


def test_page_saves_steps_from_the_rows_and_refuses_in_words(client, login, staff, policy):
    login(client, staff["supervisor"])
    url = reverse("checkins:policy_edit", args=[policy.pk])
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": url})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "담당 실무자" in page and 'value="30"' in page
    rows = {
        "name": "fast",
        "repeat_minutes": "45",
        "step_minutes": ["0", "120", "", ""],
        "step_to": ["caseworker", "trusted_contacts", "", ""],
    }
    assert client.post(url, rows).status_code == 302
    policy.refresh_from_db()
    assert policy.steps == [
        {"after_minutes": 0, "to": "caseworker"},
        {"after_minutes": 120, "to": "trusted_contacts"},
    ]
    assert policy.repeat_minutes == 45
    bad = client.post(
        url,
        {**rows, "step_minutes": ["60", "0"], "repeat_minutes": "2"},
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "5분 이상이어야 합니다." in text
    policy.refresh_from_db()
    assert policy.repeat_minutes == 45
    unordered = client.post(url, {**rows, "step_minutes": ["60", "0"]}, HTTP_ACCEPT_LANGUAGE="ko")
    assert unordered.status_code == 400
    text = re.sub(r"<[^>]+>", "", unordered.content.decode())
    assert "단계: 2단계: 단계는 시간 순서여야 합니다" in text
