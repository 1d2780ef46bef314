"""`/c/<token>`: GET changes nothing; normal, duress and wrong PIN answer byte for byte alike."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert
from jikimi.checkins import services
from jikimi.checkins.models import AlertKind, CheckIn, Enrolment
from jikimi.checkins.monitor import run_once, run_pass
from jikimi.notify.models import OutboxMessage

pytestmark = pytest.mark.django_db

# CSRF tokens (in forms and in base.html's htmx headers) are 64 characters, new per request.
CSRF_RE = re.compile(rb"[A-Za-z0-9]{64}")
# The page's own address (the language switch returns to it): the link the person opened,
# the same whatever the outcome. An unknown link of a real link's length reads the same.
LINK_RE = re.compile(rb"/c/[A-Za-z0-9_-]{43}")
VARYING_HEADERS = {"Date", "Set-Cookie"}


def snapshot(response) -> tuple:
    """Everything the person (or a coercer beside them) can see, minus per-request tokens."""
    headers = tuple(sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS))
    return (
        response.status_code,
        headers,
        LINK_RE.sub(b"LINK", CSRF_RE.sub(b"CSRF", response.content)),
    )


def post(client, token, pin, **extra):
    return client.post(f"/c/{token}", {"pin": pin, **extra})


def test_it_shows_the_pad_and_changes_nothing_on_get(enrol):
    enrolment, token = enrol()
    before = Enrolment.objects.values().get(pk=enrolment.pk)
    response = Client().get(f"/c/{token}")
    assert response.status_code == 200
    assert b'name="pin"' in response.content
    assert response["Cache-Control"] == "no-store"
    assert Enrolment.objects.values().get(pk=enrolment.pk) == before
    assert CheckIn.objects.count() == 0


def test_it_answers_normal_duress_wrong_and_unknown_identically(enrol):
    enrolment, token = enrol()
    client = Client()
    normal = snapshot(post(client, token, "2580"))
    duress = snapshot(post(client, token, "1397"))
    wrong = snapshot(post(client, token, "9999"))
    unknown = snapshot(post(client, "N" * 43, "2580"))
    assert normal == duress == wrong == unknown
    # The same also holds for pause requests.
    paused = {
        snapshot(post(client, token, pin, action="pause", pause_days="3"))
        for pin in ("2580", "1397", "0000")
    }
    assert len(paused) == 1
    assert list(CheckIn.objects.order_by("id").values_list("kind", flat=True)) == [
        "ok",
        "duress",
        "wrong",
        "pause",
        "duress",
        "wrong",
    ]


def test_it_raises_the_duress_alert_at_once_and_keeps_it_open(enrol, smtp, staff):
    enrolment, token = enrol()
    post(Client(), token, "1397")
    report, sent = run_once()
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.DURESS and alert.priority == 0
    assert {m["To"] for m in smtp.messages} >= {
        "caseworker@alpha.example",
        "supervisor@alpha.example",
    }
    assert all(m["X-Priority"] == "1" for m in smtp.messages)
    # A normal check-in afterwards does not close it; acknowledging does not either.
    post(Client(), token, "2580")
    run_once()
    alerts.acknowledge(staff["caseworker"], alert)
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    with pytest.raises(services.InvalidInput):
        alerts.close(staff["caseworker"], alert, reason=" ")
    alerts.close(staff["caseworker"], alert, reason="met the person; safe")
    alert.refresh_from_db()
    assert alert.state == "closed" and alert.close_reason == "met the person; safe"


def test_it_does_not_apply_a_pause_requested_under_duress(enrol):
    enrolment, token = enrol()
    post(Client(), token, "1397", action="pause", pause_days="30")
    run_once()
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert Alert.objects.get().detail["requested"] == "pause"
    post(Client(), token, "1397", action="withdraw")
    run_once()
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert Alert.objects.filter(kind="duress").count() == 2


def test_it_applies_a_pause_and_withdrawal_with_the_real_pin(enrol):
    enrolment, token = enrol()
    post(Client(), token, "2580", action="pause", pause_days="5")
    enrolment.refresh_from_db()
    assert enrolment.status == "paused" and enrolment.next_action_at == enrolment.paused_until
    post(Client(), token, "2580", action="withdraw")
    enrolment.refresh_from_db()
    assert enrolment.status == "withdrawn" and enrolment.next_action_at is None


def test_it_rate_limits_wrong_pins_and_alerts_staff(enrol, smtp):
    enrolment, token = enrol()
    client = Client()
    for _ in range(services.WRONG_LOCK_AT):
        post(client, token, "0001")
    run_once()
    assert Alert.objects.get().kind == AlertKind.WRONG_PINS
    # Locked: the right PIN no longer counts (and still looks the same) ...
    assert services.record_checkin(enrolment, "2580", channel="web") == "locked"
    enrolment.refresh_from_db()
    assert enrolment.last_checkin_at is None
    # ... but the duress PIN always raises the alarm.
    assert services.record_checkin(enrolment, "1397", channel="web") == "duress"
    run_once()
    assert Alert.objects.filter(kind="duress").count() == 1


@pytest.mark.parametrize("gap_minutes", [0, 31, 120])
def test_it_raises_the_wrong_pin_alert_whenever_the_monitor_runs(enrol, gap_minutes):
    """Issue 12.13: decided from the recorded attempts, so a monitor that was down (31
    minutes: past twice the window) catches up, and a later pass raises nothing twice."""
    enrolment, token = enrol()
    now = timezone.now()
    for i in range(services.WRONG_ALERT_AT):
        services.record_checkin(enrolment, "0001", channel="web", now=now + timedelta(seconds=i))
    run_pass(now + timedelta(minutes=gap_minutes, seconds=5))
    alert = Alert.objects.get(kind=AlertKind.WRONG_PINS)
    assert alert.detail["count"] == services.WRONG_ALERT_AT
    run_pass(now + timedelta(minutes=gap_minutes + 5))
    assert Alert.objects.filter(kind=AlertKind.WRONG_PINS).count() == 1


def test_it_raises_the_wrong_pin_alert_after_a_checkin_reset_the_counter(enrol):
    """Three wrong PINs, then the right one, all before the monitor runs: the attempts
    still owe staff their alert (someone was trying PINs)."""
    enrolment, token = enrol()
    now = timezone.now()
    for i in range(services.WRONG_ALERT_AT):
        services.record_checkin(enrolment, "0001", channel="web", now=now + timedelta(seconds=i))
    services.record_checkin(enrolment, "2580", channel="web", now=now + timedelta(seconds=10))
    run_pass(now + timedelta(minutes=1))
    assert Alert.objects.filter(kind=AlertKind.WRONG_PINS).count() == 1


def test_it_writes_no_outbox_message_in_the_request(enrol):
    """The duress alert comes from the monitor, so the request does the same work."""
    enrolment, token = enrol()
    post(Client(), token, "1397")
    assert OutboxMessage.objects.count() == 0 and Alert.objects.count() == 0
    assert CheckIn.objects.get().alert_pending


def test_it_still_raises_the_duress_alert_after_a_quick_normal_checkin(enrol):
    """A coercer may make the person check in again at once: the alarm must not be lost."""
    enrolment, token = enrol()
    post(Client(), token, "1397")
    post(Client(), token, "2580")
    services.pause(enrolment.caseworker, enrolment, until=enrolment.next_due_at, reason="travel")
    run_once(deliver=False)
    assert Alert.objects.get().kind == AlertKind.DURESS


def test_it_sends_the_duress_alert_to_the_organisations_webhook(enrol, smtp, gateway, orgs):
    from jikimi.notify import services as notify

    notify.create_channel(orgs[0], kind="webhook", name="hotline", url=gateway.url)
    enrolment, token = enrol()
    post(Client(), token, "1397")
    run_once()
    [hook] = gateway.requests
    assert hook["json"]["priority"] == 0 and enrolment.person.code in hook["json"]["text"]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_cached_page_is_what_render_gives(enrol, settings, language):
    """The pre-rendered variants (views.checkin._page) equal a fresh render, byte for byte,
    with the request's own CSRF token — the same token that the CSRF cookie pairs with."""
    from django.middleware.csrf import _unmask_cipher_token

    from jikimi.checkins.views import checkin as view

    enrolment, token = enrol()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language)
    pages = {}
    for cached in (False, True):
        settings.DEBUG = not cached  # DEBUG switches the cache off
        view._RENDERED.clear()
        pad = client.get(f"/c/{token}")
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', pad.content).group(1)
        done = [
            client.post(f"/c/{token}", {"pin": pin, "csrfmiddlewaretoken": csrf.decode(), **extra})
            for pin, extra in (("2580", {}), ("1397", {"action": "pause", "pause_days": "2"}))
        ]
        assert all(r.status_code == 200 for r in (pad, *done))
        # All tokens in one page are the same token (one get_token per response).
        for response in (pad, *done):
            assert (
                len({_unmask_cipher_token(t.decode()) for t in CSRF_RE.findall(response.content)})
                == 1
            )
        pages[cached] = [snapshot(r) for r in (pad, *done)]
    settings.DEBUG = False
    assert pages[True] == pages[False]
    assert len(view._RENDERED) == 3  # the pad, a check-in, a 2-day pause


def test_the_fast_csrf_mask_is_a_valid_django_token(rf):
    from django.middleware.csrf import (
        CSRF_ALLOWED_CHARS,
        _get_new_csrf_string,
        _unmask_cipher_token,
    )

    from jikimi.checkins.views.checkin import _masked_token

    secret = _get_new_csrf_string()
    request = rf.post("/c/x")
    request.META["CSRF_COOKIE"] = secret
    tokens = {_masked_token(request) for _ in range(200)}
    assert len(tokens) == 200  # a fresh mask every time
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    for token in tokens:
        assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)
        assert _unmask_cipher_token(token) == secret


def test_it_speaks_korean_to_the_person_by_default(enrol):
    """The person's own pages are Korean unless the browser asks for English."""
    enrolment, token = enrol()
    page = Client().get(f"/c/{token}").content.decode()
    assert "안부 확인" in page and "Check in" not in page
    answer = post(Client(), token, "2580").content.decode()
    assert "감사합니다" in answer
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/c/{token}").content.decode()
    assert "Check in" in english


def test_too_many_wrong_pins_from_one_address_lock_every_link_it_tries(enrol, staff):
    """The per-address count lives in the database (shared by every web worker), keyed by
    a keyed hash of the address; it spans links, and ends with its window."""
    from datetime import timedelta

    from django.utils import timezone

    from jikimi.checkins.models import IpStrike
    from jikimi.people import services as people

    cw = staff["caseworker"]
    links = []
    for i in range(services.IP_WRONG_LIMIT // 3 + 1):
        someone = people.create_person(cw, name=f"시험 {i}")
        people.record_consent(cw, someone, purpose="checkins", granted=True, method="written")
        links.append(enrol(someone))
    now = timezone.now()
    attacker, neighbour = "203.0.113.7", "198.51.100.4"
    tries = 0
    for enrolment, _token in links:  # 3 wrong PINs per link: below each link's own lock
        for _ in range(3):
            if tries < services.IP_WRONG_LIMIT:
                kind = services.record_checkin(
                    enrolment, "0001", channel="web", ip=attacker, now=now
                )
                assert kind == "wrong"
                tries += 1
    fresh, _ = links[-1]
    assert services.record_checkin(fresh, "2580", channel="web", ip=attacker, now=now) == "locked"
    # Another address, and SMS (all from the gateway), are not affected.
    assert services.record_checkin(fresh, "2580", channel="web", ip=neighbour, now=now) == "ok"
    assert services.record_checkin(fresh, "2580", channel="sms", now=now) == "ok"
    # The duress PIN always counts.
    assert services.record_checkin(fresh, "1397", channel="web", ip=attacker, now=now) == "duress"
    # Stored under a keyed hash, never the address itself.
    assert IpStrike.objects.count() == 1  # only wrong PINs leave a row
    assert not IpStrike.objects.filter(key__contains="203.0.113").exists()
    assert IpStrike.objects.get(wrong__gt=0).wrong == services.IP_WRONG_LIMIT
    # The window ends: the address may check in again, and the monitor forgets it.
    later = now + services.WRONG_WINDOW + timedelta(seconds=1)
    assert services.record_checkin(fresh, "2580", channel="web", ip=attacker, now=later) == "ok"
    assert services.prune_ip_strikes(later + services.WRONG_WINDOW) == 1
    assert not IpStrike.objects.exists()


def test_behind_a_trusted_proxy_it_counts_the_forwarded_address(enrol, settings):
    from jikimi.checkins.models import IpStrike

    settings.JIKIMI_TRUSTED_PROXIES = ["127.0.0.1"]
    _enrolment, token = enrol()
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    post(client, token, "0001")
    assert IpStrike.objects.get().key == services._ip_key("198.51.100.9")


@pytest.mark.parametrize(
    "lang,expected", [("ko", "이 페이지는 만료되었습니다"), ("en", "This page has expired")]
)
def test_a_failed_csrf_check_shows_a_plain_translated_page(enrol, lang, expected):
    """An old pad (cookies cleared since): not Django's English "CSRF verification failed",
    and nothing that names the service; the check-in is not recorded."""
    enrolment, token = enrol()
    client = Client(enforce_csrf_checks=True, headers={"accept-language": lang})
    response = client.post(f"/c/{token}", {"pin": "2580"})
    assert response.status_code == 403
    body = response.content.decode()
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>|<[^>]+>", " ", body)  # what is read
    assert expected in text
    for word in ("CSRF", "Forbidden"):
        assert word not in text, word
    for word in ("Jikimi", "지킴이"):  # not even in the title or the markup
        assert word not in body, word
    assert CheckIn.objects.count() == 0
