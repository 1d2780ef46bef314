"""The monitor pass: reminder, grace, missed alert, the ladder, stop by check-in or ack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert, AlertState, Task
from jikimi.checkins import services
from jikimi.checkins.models import AlertKind, Enrolment, Phase
from jikimi.checkins.monitor import run_once, run_pass
from jikimi.notify.models import OutboxMessage

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def recipients(sink) -> list[str]:
    return [m["To"] for m in sink.messages]


def test_it_runs_the_ladder_step_by_step(enrol, smtp, staff):
    with time_machine.travel(T0, tick=False):
        enrolment, token = enrol(
            channels=["web", "email"], email="me@person.example", grace_minutes=60
        )
    assert enrolment.next_due_at == at(24)
    with time_machine.travel(at(23), tick=False):
        assert run_pass().processed == 0
    # Due: the person is reminded; grace runs.
    with time_machine.travel(at(24), tick=False):
        run_once()
    assert recipients(smtp) == ["me@person.example"]
    enrolment.refresh_from_db()
    assert enrolment.phase == Phase.GRACE
    # Grace over: missed alert, case worker notified.
    with time_machine.travel(at(25), tick=False):
        report, _ = run_once()
    assert report.kinds == {"missed": 1}
    assert recipients(smtp)[1:] == ["caseworker@alpha.example"]
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.MISSED and alert.state == AlertState.OPEN
    # An hour later: the case worker is reminded (earlier steps repeat until acknowledged).
    with time_machine.travel(at(26), tick=False):
        run_once()
    assert recipients(smtp)[2:] == ["caseworker@alpha.example"]
    assert "reminder 1" in smtp.messages[2]["Subject"]
    # Six hours after the miss: supervisors (and admins) join.
    with time_machine.travel(at(31), tick=False):
        run_once()
    new = set(recipients(smtp)[3:])
    assert {"supervisor@alpha.example", "admin@alpha.example"} <= new
    # Acknowledged: no more messages.
    alerts.acknowledge(staff["supervisor"], alert)
    sent = len(smtp.messages)
    with time_machine.travel(at(40), tick=False):
        run_once()
    assert len(smtp.messages) == sent
    enrolment.refresh_from_db()
    assert enrolment.phase == Phase.WAITING and enrolment.open_alert_id is None


def test_it_reaches_trusted_contacts_and_creates_the_authorities_task(enrol, smtp, staff, person):
    from jikimi.people import services as people

    people.record_consent(staff["caseworker"], person, purpose="trusted_contact", granted=True)
    people.add_trusted_contact(
        staff["caseworker"], person, name="이영희", email="sister@family.example"
    )
    with time_machine.travel(T0, tick=False):
        enrol(grace_minutes=0)
    with time_machine.travel(at(24 + 49), tick=False):
        run_once()
    assert "sister@family.example" in recipients(smtp)
    body = next(m for m in smtp.messages if m["To"] == "sister@family.example")
    assert "P-" not in body.get_content()  # no person code to outsiders
    assert Task.objects.filter(kind="notify_authorities").count() == 1


def test_it_stops_the_ladder_on_a_valid_checkin(enrol, smtp):
    with time_machine.travel(T0, tick=False):
        enrolment, token = enrol(grace_minutes=30)
    with time_machine.travel(at(25), tick=False):
        run_once()
        assert (
            services.record_checkin(services.enrolment_for_token(token), "2580", channel="web")
            == "ok"
        )
    alert = Alert.objects.get()
    assert alert.stopped_by == "checkin" and alert.state == AlertState.OPEN
    sent = len(smtp.messages)
    with time_machine.travel(at(30), tick=False):
        run_once()
    assert len(smtp.messages) == sent
    enrolment.refresh_from_db()
    assert enrolment.next_due_at == at(25) + timedelta(hours=24)


def test_it_does_nothing_while_paused_and_resumes_after(enrol, smtp, staff):
    with time_machine.travel(T0, tick=False):
        enrolment, _ = enrol(grace_minutes=0)
        services.pause(staff["caseworker"], enrolment, until=at(72), reason="hospital")
    with time_machine.travel(at(50), tick=False):
        assert run_once()[0].alerts == 0
    with time_machine.travel(at(72), tick=False):
        run_once()
    enrolment.refresh_from_db()
    assert enrolment.status == "active" and enrolment.next_due_at == at(96)
    assert Alert.objects.count() == 0


def test_it_never_alerts_for_a_withdrawn_enrolment(enrol, staff):
    with time_machine.travel(T0, tick=False):
        enrolment, _ = enrol(grace_minutes=0)
        services.withdraw(staff["caseworker"], enrolment, reason="person asked")
    with time_machine.travel(at(100), tick=False):
        assert run_pass().processed == 0
    assert Enrolment.objects.get().next_action_at is None


def test_it_flags_drill_alerts_and_spares_outsiders(enrol, smtp, staff, person):
    from jikimi.people import services as people

    people.record_consent(staff["caseworker"], person, purpose="trusted_contact", granted=True)
    people.add_trusted_contact(
        staff["caseworker"], person, name="이영희", email="sister@family.example"
    )
    with time_machine.travel(T0, tick=False):
        enrol(grace_minutes=0, is_drill=True)
    with time_machine.travel(at(24 + 49), tick=False):
        run_once()
    assert Alert.objects.get().is_drill
    assert "sister@family.example" not in recipients(smtp)
    assert all(m["Subject"].startswith("[DRILL]") for m in smtp.messages)
    assert Task.objects.count() == 0


def test_it_writes_each_message_once_when_a_pass_is_repeated(enrol):
    with time_machine.travel(T0, tick=False):
        enrol(grace_minutes=0)
    with time_machine.travel(at(24), tick=False):
        run_pass()
        run_pass()
    assert Alert.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
