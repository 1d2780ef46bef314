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
