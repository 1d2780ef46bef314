"""The outbox: leases, retries with back-off, the same Message-ID on every attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jikimi.notify import services
from jikimi.notify.models import MessageState, OutboxMessage
from jikimi.notify.services import Notification, deliver_due, enqueue
from jikimi.notify.testing import free_port

pytestmark = pytest.mark.django_db


def note(org, key="k1", **kw):
    defaults = {
        "organisation_id": org.pk,
        "kind": "email",
        "recipient": "a@b.example",
        "subject": "Missed check-in",
        "body": "Alert P-XXXX",
        "key": key,
    }
    return Notification(**{**defaults, **kw})


def test_it_sends_email_over_smtp_with_a_stable_message_id(orgs, smtp):
    enqueue([note(orgs[0])])
    assert deliver_due().sent == 1
    [mail] = smtp.wait_for(1)
    msg = OutboxMessage.objects.get()
    assert mail["Message-ID"] == msg.message_id
    assert mail["X-Jikimi-Idempotency-Key"] == "k1"
    assert msg.state == MessageState.SENT and msg.attempts == 1


def test_it_ignores_a_second_enqueue_of_the_same_key(orgs):
    enqueue([note(orgs[0]), note(orgs[0])])
    enqueue([note(orgs[0])])
    assert OutboxMessage.objects.count() == 1


def test_it_encrypts_recipient_and_body(orgs):
    enqueue([note(orgs[0])])
    raw = OutboxMessage.objects.values("recipient", "body").get()
    assert "a@b.example" not in raw["recipient"] and "P-XXXX" not in raw["body"]


def test_it_retries_with_backoff_and_alerts_when_a_channel_keeps_failing(orgs, settings):
    from jikimi.alerts.models import Alert

    # nobody listening on that port
    settings.JIKIMI_SMTP = {**settings.JIKIMI_SMTP, "host": "127.0.0.1", "port": free_port()}
    enqueue([note(orgs[0])])
    now = timezone.now()
    for attempt in range(1, services.FAILURE_ALERT_AFTER + 1):
        report = deliver_due(now)
        assert report.failed == 1
        msg = OutboxMessage.objects.get(idempotency_key="k1")
        assert msg.state == MessageState.PENDING and msg.attempts == attempt
        assert msg.next_attempt_at > now
        now = msg.next_attempt_at + timedelta(seconds=1)
    alert = Alert.objects.get(kind="channel_failure")
    assert alert.detail["channel_kind"] == "email"
    # The alert's own e-mails are queued (they go out when SMTP is back); nothing dropped.
    assert OutboxMessage.objects.filter(state=MessageState.PENDING).count() >= 1


def test_it_resends_after_a_lease_runs_out_with_the_same_message_id(orgs, smtp):
    enqueue([note(orgs[0])])
    now = timezone.now()
    token, claimed = services.claim_due(now, lease_seconds=30)
    assert len(claimed) == 1
    # A second worker sees nothing while the lease holds ...
    assert services.claim_due(now)[1] == []
    # ... the first one "dies"; after the lease the message is due again.
    assert deliver_due(now + timedelta(seconds=31)).sent == 1
    [mail] = smtp.wait_for(1)
    assert mail["Message-ID"] == claimed[0].message_id
    assert OutboxMessage.objects.get().attempts == 2
