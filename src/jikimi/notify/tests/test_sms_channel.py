"""SMS through the generic JSON gateway: signed requests, idempotency key, monthly quota."""

from __future__ import annotations

import json

import pytest

from jikimi.notify import services
from jikimi.notify.channels.signing import verify
from jikimi.notify.models import MessageState, OutboxMessage
from jikimi.notify.services import Notification, deliver_due, enqueue

pytestmark = pytest.mark.django_db


def sms(org, key):
    return Notification(
        organisation_id=org.pk,
        kind="sms",
        recipient="010-1234-5678",
        subject="",
        body="알림: 안부 확인 시간입니다.",
        key=key,
    )


def test_it_posts_signed_json_to_the_gateway(orgs, gateway):
    channel, secret = services.create_channel(
        orgs[0], kind="sms", name="gw", url=gateway.url, sender="1588-0000"
    )
    enqueue([sms(orgs[0], "s1")])
    assert deliver_due().sent == 1
    [req] = gateway.requests
    assert req["json"] == {
        "to": "010-1234-5678",
        "from": "1588-0000",
        "text": "알림: 안부 확인 시간입니다.",
        "id": "s1",
    }
    assert req["headers"]["Idempotency-Key"] == "s1"
    assert verify(
        secret,
        req["body"],
        req["headers"]["X-Jikimi-Timestamp"],
        req["headers"]["X-Jikimi-Signature"],
    )


def test_it_retries_when_the_gateway_fails(orgs, gateway):
    services.create_channel(orgs[0], kind="sms", name="gw", url=gateway.url)
    gateway.status = 503
    enqueue([sms(orgs[0], "s1")])
    assert deliver_due().failed == 1
    assert OutboxMessage.objects.get().state == MessageState.PENDING


def test_it_blocks_over_quota_and_alerts_staff(orgs, gateway):
    from jikimi.alerts.models import Alert

    services.create_channel(orgs[0], kind="sms", name="gw", url=gateway.url, monthly_quota=2)
    enqueue([sms(orgs[0], f"s{i}") for i in range(3)])
    report = deliver_due()
    assert (report.sent, report.blocked) == (2, 1)
    assert len(gateway.requests) == 2
    assert Alert.objects.get().kind == "quota_blocked"
    assert json.loads(json.dumps(Alert.objects.get().detail))["month"]


def test_it_sends_webhooks_signed(orgs, gateway):
    channel, secret = services.create_channel(orgs[0], kind="webhook", name="hook", url=gateway.url)
    enqueue(
        [
            Notification(
                organisation_id=orgs[0].pk,
                kind="webhook",
                recipient=gateway.url,
                subject="Duress",
                body="P-X",
                key="w1",
                priority=0,
            )
        ]
    )
    assert deliver_due().sent == 1
    assert gateway.requests[0]["json"]["priority"] == 0
