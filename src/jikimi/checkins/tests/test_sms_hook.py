"""`POST /hooks/sms/<channel>`: signed, `OK <PIN>`, one short reply whatever the PIN."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from jikimi.alerts.models import Alert
from jikimi.checkins.models import CheckIn
from jikimi.checkins.monitor import run_once
from jikimi.notify import services as notify
from jikimi.notify.channels.signing import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(orgs, gateway):
    return notify.create_channel(
        orgs[0], kind="sms", name="gw", url=gateway.url, secret="s3cret-gateway-key"
    )[0]


def send(channel, text, sender="+82 10-5555-1234", secret="s3cret-gateway-key"):  # noqa: S107
    body = json.dumps({"from": sender, "text": text}).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in sign(secret, body).items()}
    return Client().post(
        f"/hooks/sms/{channel.pk}", body, content_type="application/json", **headers
    )


def test_it_checks_in_by_sms_with_the_same_reply_for_every_pin(enrol, channel):
    enrol(channels=["web", "sms"], phone="010-5555-1234")
    replies = [send(channel, text) for text in ("OK 2580", "ok 1397", "OK 9999")]
    unknown = send(channel, "OK 2580", sender="010-0000-0000")
    bodies = {r.content for r in [*replies, unknown]}
    assert len(bodies) == 1 and all(r.status_code == 200 for r in replies)
    reply = json.loads(bodies.pop())["reply"]
    assert len(reply) <= 70
    assert list(CheckIn.objects.order_by("id").values_list("kind", "channel")) == [
        ("ok", "sms"),
        ("duress", "sms"),
        ("wrong", "sms"),
    ]
    run_once(deliver=False)
    assert Alert.objects.get().kind == "duress"


def test_it_rejects_a_bad_or_missing_signature(enrol, channel):
    enrol(channels=["web", "sms"], phone="010-5555-1234")
    assert send(channel, "OK 2580", secret="wrong").status_code == 403
    response = Client().post(f"/hooks/sms/{channel.pk}", b"{}", content_type="application/json")
    assert response.status_code == 403
    assert CheckIn.objects.count() == 0


def test_it_explains_the_format_for_other_texts(enrol, channel):
    enrol(channels=["web", "sms"], phone="010-5555-1234")
    reply = json.loads(send(channel, "hello").content)["reply"]
    assert "OK" in reply and len(reply) <= 70


def test_it_does_not_let_one_senders_typos_lock_out_another(enrol, channel, staff):
    from jikimi.people import services as people

    enrol(channels=["web", "sms"], phone="010-5555-1234")
    other = people.create_person(staff["caseworker"], name="최민수")
    people.record_consent(staff["caseworker"], other, purpose="checkins", granted=True)
    enrol(other, channels=["web", "sms"], phone="010-7777-0000")
    for _ in range(40):
        send(channel, "OK 9999")
    send(channel, "OK 2580", sender="010-7777-0000")
    assert CheckIn.objects.filter(kind="ok").count() == 1
