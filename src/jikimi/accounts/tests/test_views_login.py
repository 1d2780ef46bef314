"""The two-step staff login, lock-out, logout, re-authentication and the account pages."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP

from jikimi.accounts.models import User
from jikimi.accounts.services import create_staff, ensure_organisation, totp_device
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD

LOGIN = "/accounts/login"


def _password_step(client, username, password=PASSWORD):
    return client.post(LOGIN, {"step": "password", "username": username, "password": password})


def _code_step(client, code):
    return client.post(LOGIN, {"step": "code", "code": code})


def _code_for(user, offset_steps: int = 0) -> str:
    device = totp_device(user)
    totp = TOTP(device.bin_key, device.step, 0, device.digits, device.drift + offset_steps)
    return str(totp.token()).zfill(device.digits)


def _wrong_code(user) -> str:
    # Any code that is valid in none of the accepted windows (current step ± tolerance).
    valid = {_code_for(user, k) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def test_it_logs_in_with_password_then_code(client, staff):
    user = staff["caseworker"]
    response = _password_step(client, user.username)
    assert response.status_code == 200
    assert 'name="code"' in response.content.decode()
    # The password alone is no session.
    assert "_auth_user_id" not in client.session
    response = _code_step(client, totp_device(user).current_token())
    assert response.status_code == 302
    assert response["Location"] == reverse("people:list")
    page = client.get(reverse("people:list"))
    assert page.status_code == 200
    assert AuditEvent.objects.filter(action="login.ok", actor_id=user.pk).exists()


def test_it_follows_a_safe_next_and_ignores_an_outside_one(client, staff):
    user = staff["caseworker"]
    client.post(
        LOGIN,
        {"step": "password", "username": user.username, "password": PASSWORD, "next": "/audit/"},
    )
    response = client.post(LOGIN, {"step": "code", "code": _code_for(user), "next": "/audit/"})
    assert response["Location"] == "/audit/"
    client.logout()
    _password_step(client, user.username)
    # The code just used cannot be replayed; the next step's code is within tolerance.
    response = client.post(
        LOGIN, {"step": "code", "code": _code_for(user, 1), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("people:list")


def test_it_refuses_a_wrong_code_without_saying_which_part(client, staff):
    user = staff["caseworker"]
    _password_step(client, user.username)
    response = _code_step(client, _wrong_code(user))
    assert response.status_code == 400
    body = response.content.decode()
    assert "The sign-in details are not correct." in body or "로그인 정보가" in body
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("people:list")).status_code == 302


def test_it_gives_the_same_message_for_unknown_user_and_wrong_password(client, staff):
    a = _password_step(client, "nobody-here", "whatever-password").content.decode()
    b = _password_step(client, staff["caseworker"].username, "wrong password!").content.decode()
    marker = 'role="alert">'
    assert a.split(marker)[1].split("<")[0] == b.split(marker)[1].split("<")[0]


def test_it_locks_after_five_failures_and_says_for_how_long(client, staff):
    user = staff["caseworker"]
    for _ in range(5):
        assert _password_step(client, user.username, "wrong password!").status_code == 400
    user.refresh_from_db()
    assert user.locked_until is not None
    # Even the right password is refused now, with a locked message naming minutes.
    response = client.post(
        LOGIN,
        {"step": "password", "username": user.username, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "locked" in body and "15 minutes" in body
    assert 'name="code"' not in body


def test_it_locks_after_wrong_codes_too(client, staff):
    user = staff["caseworker"]
    _password_step(client, user.username)
    wrong = _wrong_code(user)
    for _ in range(5):
        _code_step(client, wrong)
    assert User.objects.get(pk=user.pk).locked_until is not None
    _password_step(client, user.username)
    assert _code_step(client, _code_for(user)).status_code == 400


def test_it_rejects_a_malformed_code_with_a_field_error(client, staff):
    _password_step(client, staff["caseworker"].username)
    response = _code_step(client, "12ab")
    assert response.status_code == 400
    assert "field-error" in response.content.decode()


def test_it_shows_demo_accounts_with_codes_only_in_demo_mode(client, db):
    org = ensure_organisation("hanbit")
    user, device = create_staff("demo-caseworker", "jikimi-demo-password", org, "caseworker")
    assert "demo-caseworker" not in client.get(LOGIN).content.decode()
    assert client.get(reverse("accounts:demo_codes")).status_code == 404
    with override_settings(DEMO=True):
        body = client.get(LOGIN).content.decode()
        assert "demo-caseworker" in body
        assert device.current_token() in body
        assert 'hx-trigger="totp-step"' in body  # jikimi.js fires it at each 30 s step
        partial = client.get(reverse("accounts:demo_codes")).content.decode()
        assert device.current_token() in partial and "<html" not in partial


def test_it_logs_out_with_post_only(client, staff, login):
    login(client, staff["caseworker"])
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("people:list")).status_code == 302


def test_it_reauthenticates_and_follows_next(client, staff, login):
    login(client, staff["caseworker"])
    url = reverse("accounts:reauth") + "?next=/accounts/tokens"
    assert client.get(url).status_code == 200
    assert client.post(url, {"password": "nope nope nope"}).status_code == 400
    response = client.post(url, {"password": PASSWORD, "next": "/accounts/tokens"})
    assert response.status_code == 302 and response["Location"] == "/accounts/tokens"


def test_it_shows_the_totp_qr_only_after_reauth(client, staff, login):
    login(client, staff["analyst"])
    page = client.get(reverse("accounts:account"))
    assert page.status_code == 200 and "data:image/svg+xml" not in page.content.decode()
    assert client.get(reverse("accounts:account") + "?qr=1").status_code == 302
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    page = client.get(reverse("accounts:account") + "?qr=1")
    assert "data:image/svg+xml" in page.content.decode()


def test_it_creates_and_revokes_an_api_token_after_reauth(client, staff, login):
    from jikimi.accounts.models import ApiToken
    from jikimi.accounts.services import hash_api_token

    user = staff["caseworker"]
    login(client, user)
    assert client.post(reverse("accounts:tokens"), {"action": "create"}).status_code == 302
    assert not ApiToken.objects.filter(user=user).exists()
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    page = client.post(reverse("accounts:tokens"), {"action": "create"})
    assert "no-store" in page["Cache-Control"]
    token = ApiToken.objects.get(user=user)
    key = page.content.decode().split('<code class="token">')[1].split("<")[0]
    assert token.key_hash == hash_api_token(key)
    assert AuditEvent.objects.filter(action="api_token.create", actor_id=user.pk).exists()
    # Shown once only; afterwards the page shows the prefix alone.
    listing = client.get(reverse("accounts:tokens")).content.decode()
    assert key not in listing and token.prefix in listing
    client.post(reverse("accounts:tokens"), {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.prefix not in client.get(reverse("accounts:tokens")).content.decode()
    assert AuditEvent.objects.filter(action="api_token.revoke", actor_id=user.pk).exists()
    assert client.post(reverse("accounts:tokens"), {"action": "revoke"}).status_code == 400


@pytest.mark.parametrize("path", ["/people/", "/audit/", "/accounts/me"])
def test_it_sends_anonymous_users_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_demo_accounts_say_what_each_role_shows(client, db):
    hanbit, other = ensure_organisation("hanbit"), ensure_organisation("saebyeok")
    for username, org, role in (
        ("demo-admin", hanbit, "admin"),
        ("demo-analyst", hanbit, "analyst"),
        ("demo-caseworker", hanbit, "caseworker"),
        ("demo-caseworker2", other, "caseworker"),
    ):
        create_staff(username, "jikimi-demo-password", org, role)
    client.cookies["django_language"] = "ko"
    with override_settings(DEMO=True):
        body = client.get(LOGIN).content.decode()
    rows = re.findall(r'<tbody data-account="([^"]+)">(.*?)</tbody>', body, re.S)
    # The first organisation's accounts first, the case worker (who sees most) leading.
    assert [name for name, _ in rows] == [
        "demo-caseworker",
        "demo-admin",
        "demo-analyst",
        "demo-caseworker2",
    ]
    shows = dict(rows)
    assert "이지현, Lee Ji-hyun, Ri Ji Hyon" in shows["demo-caseworker"]
    assert "추정" in shows["demo-analyst"] and "이름 없이" in shows["demo-analyst"]
    assert "hanbit의 대상자는 보지 못합니다" in shows["demo-caseworker2"]
