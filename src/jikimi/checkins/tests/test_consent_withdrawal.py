"""Withdrawing the `checkins` consent in the people app stops monitoring: no reminders or
escalations; open alerts stay on the board for staff to close."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jikimi.alerts.models import Alert, AlertState
from jikimi.audit.services import verify_chain
from jikimi.checkins.models import Enrolment, EnrolmentStatus
from jikimi.checkins.monitor import run_pass
from jikimi.notify.models import OutboxMessage
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


def _withdrawn(enrolment) -> bool:
    enrolment.refresh_from_db()
    return enrolment.status == EnrolmentStatus.WITHDRAWN and enrolment.next_action_at is None


def test_the_service_withdraws_live_enrolments(staff, person, enrol):
    now = timezone.now()
    enrolment, _ = enrol(now=now - timedelta(hours=30))
    run_pass(now)  # missed: an open alert, the ladder running
    alert = Alert.objects.get(source_ref=str(enrolment.pk))
    people.record_consent(staff["caseworker"], person, purpose="checkins", granted=False)
    assert _withdrawn(enrolment)
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN  # staff close it
    assert alert.escalation_stopped_at is not None
    messages = OutboxMessage.objects.count()
    report = run_pass(now + timedelta(days=3))  # no reminders, no escalation
    assert report.processed == 0 and OutboxMessage.objects.count() == messages
    assert verify_chain() is None


def test_other_purposes_and_grants_change_nothing(staff, person, enrol):
    enrolment, _ = enrol()
    people.record_consent(staff["caseworker"], person, purpose="sharing", granted=False)
    people.record_consent(staff["caseworker"], person, purpose="checkins", granted=True)
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ACTIVE and enrolment.next_action_at


def test_a_pending_duress_alarm_is_still_raised(staff, person, enrol):
    enrolment, token = enrol()
    Client().post(f"/c/{token}", {"pin": "1397"})
    people.record_consent(staff["caseworker"], person, purpose="checkins", granted=False)
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
    run_pass(timezone.now() + timedelta(seconds=1))
    assert Alert.objects.filter(source_ref=str(enrolment.pk), kind="duress").count() == 1
    assert _withdrawn(enrolment)


def test_the_people_page_post_stops_monitoring(client, login, staff, person, enrol):
    enrolment, _ = enrol()
    login(client, staff["caseworker"])
    response = client.post(
        reverse("people:record_consent", args=[person.code]),
        {"purpose": "checkins", "granted": "no", "method": "verbal", "scope": ""},
    )
    assert response.status_code in (200, 302), response.content
    assert not people.has_consent(person, "checkins")
    assert _withdrawn(enrolment)


def test_the_people_api_stops_monitoring(api_client, api_token, staff, person, enrol):
    enrolment, _ = enrol()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    response = api_client.post(
        f"/api/people/{person.code}/consents/",
        {"purpose": "checkins", "granted": False, "method": "written"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert _withdrawn(enrolment)
    assert Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE).count() == 0


def test_stopping_from_the_checkin_page_withdraws_the_consent(staff, person, enrol):
    """Issue 12.12: the person's own "stop" is recorded as a withdrawal, as staff's is."""
    from jikimi.checkins import services as checkins
    from jikimi.core.errors import InvalidInput

    enrolment, token = enrol()
    Client().post(f"/c/{token}", {"pin": "2580", "action": "withdraw"})
    assert _withdrawn(enrolment)
    consent = people.current_consents(person)["checkins"]
    assert consent.granted is False and consent.method == "person:web"
    with pytest.raises(InvalidInput) as refused:
        checkins.enrol(staff["caseworker"], person, interval_hours=24)
    assert "consent" in refused.value.errors
    assert verify_chain() is None


def test_stopping_under_duress_withdraws_nothing(staff, person, enrol):
    enrolment, token = enrol()
    Client().post(f"/c/{token}", {"pin": "1397", "action": "withdraw"})
    enrolment.refresh_from_db()
    assert enrolment.status == EnrolmentStatus.ACTIVE
    assert people.current_consents(person)["checkins"].granted is True
