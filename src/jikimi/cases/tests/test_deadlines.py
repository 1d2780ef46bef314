"""A passed deadline: the monitor raises the alert through the one alert service, the outbox
delivers it to a real SMTP server, and an unacknowledged alert escalates to supervisors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert
from jikimi.cases import monitor, services
from jikimi.cases.models import Deadline
from jikimi.core.monitor import run_passes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def recipients(sink, start: int = 0) -> set[str]:
    return {m["To"] for m in sink.messages[start:]}


def _loop(now: datetime) -> None:
    """One loop of `jikimi monitor`: every registered pass (deadlines, ladder, outbox)."""
    with time_machine.travel(now, tick=False):
        run_passes()


def test_a_passed_deadline_alerts_the_worker_by_email_and_escalates_unacknowledged(
    staff, case, smtp
):
    with time_machine.travel(T0, tick=False):
        result = services.change_status(
            staff["caseworker"], case.code, status="at_risk_of_repatriation", reason="송환 예정"
        )
    [deadline] = result.deadlines
    assert deadline.due_at == at(24)
    _loop(at(23))
    assert not Alert.objects.exists() and smtp.messages == []
    # Due: the alert is raised and the responsible worker hears at once.
    _loop(at(24))
    alert = Alert.objects.get()
    deadline.refresh_from_db()
    assert deadline.alert_id == alert.pk and deadline.alerted_at == at(24)
    assert (alert.kind, alert.source_app, alert.source_ref) == ("case_deadline", "cases", case.code)
    assert alert.key == f"case-deadline:{deadline.pk}"
    assert alert.subject_url == f"/cases/{case.code}/"
    smtp.wait_for(1)
    assert recipients(smtp) == {"caseworker@example.org"}
    message = smtp.messages[0]
    assert case.person.code in message["Subject"] and "리영호" not in message.get_content()
    # Nobody acknowledges: six hours later the supervisors (and admins) are told.
    sent = len(smtp.messages)
    _loop(at(30.1))
    smtp.wait_for(sent + 3)
    assert {"supervisor@example.org", "admin@example.org"} <= recipients(smtp, sent)
    # A repeated pass raises nothing twice.
    assert monitor.run_deadlines(at(31)).alerts == 0
    assert Alert.objects.count() == 1


def test_an_acknowledged_deadline_alert_stops_escalating(staff, case, smtp):
    with time_machine.travel(T0, tick=False):
        deadline = services.add_deadline(staff["caseworker"], case.code, due_at=at(1))
    _loop(at(1))
    smtp.wait_for(1)
    alert = Alert.objects.get()
    alerts.acknowledge(staff["caseworker"], alert, now=at(1.5))
    sent = len(smtp.messages)
    _loop(at(8))
    assert len(smtp.messages) == sent
    assert Deadline.objects.get(pk=deadline.pk).alert_id == alert.pk


def test_met_or_cancelled_deadlines_raise_nothing(staff, case):
    with time_machine.travel(T0, tick=False):
        met = services.add_deadline(staff["caseworker"], case.code, due_at=at(1))
        cancelled = services.add_deadline(staff["caseworker"], case.code, due_at=at(1))
        services.meet_deadline(staff["caseworker"], met.pk)
        services.cancel_deadline(staff["caseworker"], cancelled.pk)
    assert monitor.run_deadlines(at(2)).alerts == 0


def test_a_crash_before_commit_leaves_the_deadline_due_and_the_retry_raises_it_once(staff, case):
    from django.db import transaction

    with time_machine.travel(T0, tick=False):
        deadline = services.add_deadline(staff["caseworker"], case.code, due_at=at(1))

    class Crash(Exception):
        pass

    with pytest.raises(Crash), transaction.atomic():
        monitor.run_deadlines(at(2))
        raise Crash  # the process dies before the transaction commits
    assert not Alert.objects.exists()
    assert Deadline.objects.get(pk=deadline.pk).alerted_at is None
    assert monitor.run_deadlines(at(2)).alerts == 1
    assert Alert.objects.get().key == monitor.alert_key(deadline.pk)


def test_a_deadline_claimed_by_another_monitor_is_skipped(staff, case):
    with time_machine.travel(T0, tick=False):
        deadline = services.add_deadline(staff["caseworker"], case.code, due_at=at(1))
        other = services.add_deadline(staff["caseworker"], case.code, due_at=at(2))
    # Another monitor claimed one between our read and our UPDATE: the conditional UPDATE
    # returns only the other, and only that one is alerted.
    rows = list(
        Deadline.objects.filter(pk__in=[deadline.pk, other.pk]).select_related("case__person")
    )
    Deadline.objects.filter(pk=deadline.pk).update(alerted_at=at(1))
    report = monitor.DeadlineReport()
    monitor._raise_batch(rows, at(3), {}, report)
    assert (report.alerts, report.skipped) == (1, 1)
    assert Alert.objects.get().key == monitor.alert_key(other.pk)
    assert Deadline.objects.get(pk=other.pk).alert_id == Alert.objects.get().pk


def _one_hour_policy(supervisor):
    return alerts.create_policy(
        supervisor,
        name="구금: 1시간 후 관리자",
        steps=[
            {"after_minutes": 0, "to": "caseworker"},
            {"after_minutes": 60, "to": "supervisors"},
        ],
        repeat_minutes=60,
    )


@pytest.mark.parametrize("named_by", ["case", "kind"])
def test_a_detained_case_escalates_to_the_supervisor_after_one_hour_per_its_policy(
    staff, case, smtp, named_by
):
    sup = staff["supervisor"]
    policy = _one_hour_policy(sup)
    if named_by == "case":
        services.set_case_policy(sup, case.code, policy.pk)
    else:
        services.set_kind_policy(sup, "detained", policy.pk)
    with time_machine.travel(T0, tick=False):
        deadline = services.add_deadline(staff["caseworker"], case.code, due_at=at(2))
    _loop(at(2))
    alert = Alert.objects.get()
    assert alert.policy_id == policy.pk
    smtp.wait_for(1)
    assert recipients(smtp) == {"caseworker@example.org"}
    # Not acknowledged: 59 minutes later nobody else is told, after one hour the supervisors.
    sent = len(smtp.messages)
    _loop(at(2) + timedelta(minutes=59))
    assert len(smtp.messages) == sent
    _loop(at(3.01))
    smtp.wait_for(sent + 2)
    assert {"supervisor@example.org", "admin@example.org"} <= recipients(smtp, sent)
    assert Deadline.objects.get(pk=deadline.pk).alert_id == alert.pk


def test_without_a_named_policy_a_deadline_keeps_the_standard_ladder(staff, case, smtp):
    sup = staff["supervisor"]
    _one_hour_policy(sup)
    services.set_kind_policy(sup, "missing", _one_hour_policy_name_other(sup).pk)
    with time_machine.travel(T0, tick=False):
        services.add_deadline(staff["caseworker"], case.code, due_at=at(2))
    _loop(at(2))
    smtp.wait_for(1)
    assert Alert.objects.get().policy == alerts.default_policy(case.organisation)
    sent = len(smtp.messages)
    _loop(at(3.5))  # one and a half hours unacknowledged: the standard ladder waits 6 h
    assert "supervisor@example.org" not in recipients(smtp, sent)
    _loop(at(8.1))
    smtp.wait_for(sent + 3)  # a reminder at 3.5 h, then the supervisor and the admin
    assert "supervisor@example.org" in recipients(smtp, sent)


def _one_hour_policy_name_other(supervisor):
    return alerts.create_policy(
        supervisor,
        name="실종: 1시간",
        steps=[
            {"after_minutes": 0, "to": "caseworker"},
            {"after_minutes": 60, "to": "supervisors"},
        ],
    )


def test_a_case_policy_must_be_one_of_the_organisations(staff, case):
    from jikimi.core.errors import AccessDenied, InvalidInput

    with pytest.raises(AccessDenied):
        services.set_case_policy(staff["caseworker"], case.code, None)
    with pytest.raises(InvalidInput) as exc:
        services.set_case_policy(staff["supervisor"], case.code, 999_999)
    assert set(exc.value.errors) == {"escalation_policy"}
