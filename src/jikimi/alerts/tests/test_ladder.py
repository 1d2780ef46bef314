"""The generic ladder: any kind raised with a policy escalates like a missed check-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jikimi.alerts import ladder, services
from jikimi.alerts.models import Task
from jikimi.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

STEPS = [
    {"after_minutes": 0, "to": "caseworker"},
    {"after_minutes": 60, "to": "supervisors"},
    {"after_minutes": 120, "to": "authorities_task"},
]


def test_advance_reaches_steps_and_reminds_earlier_ones():
    start = timezone.now()
    repeat = timedelta(minutes=30)
    first = ladder.advance(
        STEPS, step=0, round_no=0, last_notified=None, started_at=start, repeat=repeat, now=start
    )
    assert first.notify == [(0, "caseworker", 0)] and first.step == 1
    assert first.next_at == start + repeat  # the reminder comes before step 2 (60 min)
    later = start + timedelta(minutes=61)
    second = ladder.advance(
        STEPS, step=1, round_no=0, last_notified=start, started_at=start, repeat=repeat, now=later
    )
    assert second.notify == [(0, "caseworker", 1), (1, "supervisors", 0)]
    assert second.step == 2 and second.round_no == 1 and second.last_notified == later
    # A policy shortened below the steps already reached does not fail.
    short = ladder.advance(
        STEPS[:1],
        step=3,
        round_no=0,
        last_notified=start,
        started_at=start,
        repeat=repeat,
        now=later,
    )
    assert short.step == 1


def test_a_deadline_escalates_until_acknowledged(mailed_staff, person, deadline_kind):
    staff = mailed_staff
    policy = services.create_policy(staff["supervisor"], name="deadlines", steps=STEPS)
    now = timezone.now()
    alert = services.raise_alert(
        organisation_id=staff["caseworker"].organisation_id,
        kind="test_deadline",
        key="deadline:C-1",
        detail={"case": "C-1"},
        person=person,
        assignee=staff["caseworker"],
        policy=policy,
        now=now,
    )
    assert OutboxMessage.objects.count() == 0  # the ladder, not an immediate mail

    assert services.escalate_due(now)["messages"] == 1
    assert [m.recipient for m in OutboxMessage.objects.all()] == ["caseworker@example.org"]
    assert services.escalate_due(now)["messages"] == 0  # nothing new until the next step

    services.escalate_due(now + timedelta(minutes=121))
    recipients = {m.recipient for m in OutboxMessage.objects.all()}
    assert {"supervisor@example.org", "admin@example.org"} <= recipients
    assert Task.objects.filter(alert=alert, kind="notify_authorities").count() == 1

    services.acknowledge(staff["supervisor"], alert)
    sent = OutboxMessage.objects.count()
    alert.refresh_from_db()
    assert alert.next_escalation_at is None
    services.escalate_due(now + timedelta(days=2))
    assert OutboxMessage.objects.count() == sent  # acknowledged: the ladder stopped
