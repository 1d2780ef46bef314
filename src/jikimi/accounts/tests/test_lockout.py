"""Lock-out holds for every password check (issue 12, points 6–8).

6. Parallel wrong passwords: at most JIKIMI_LOCKOUT_ATTEMPTS are checked at all.
7. Re-authentication is under the same lock-out: a locked account's right password is
   refused at /accounts/reauth (and in the API's password-in-the-body).
8. On the login page a locked account reads exactly like an unknown user name.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections

from jikimi.accounts import services
from jikimi.accounts.models import User
from jikimi.conftest import PASSWORD

LOGIN = "/accounts/login"
PARALLEL = 24


def _lock(user: User) -> None:
    for _ in range(settings.JIKIMI_LOCKOUT_ATTEMPTS):
        with pytest.raises(services.LoginFailed):
            services.check_password_for(user, "wrong password!")
    user.refresh_from_db()
    assert services.is_locked(user)


# --- 6. Atomic counting ---------------------------------------------------------------------


@pytest.fixture
def counted_checks(monkeypatch):
    """Count the password checks that run; each takes a while, so the attempts overlap."""
    checked = []
    real = User.check_password

    def slow_check(self, raw):
        checked.append(raw)
        time.sleep(0.05)
        return real(self, raw)

    monkeypatch.setattr(User, "check_password", slow_check)
    return checked


def _in_parallel(attempt) -> list[str]:
    barrier = threading.Barrier(PARALLEL)
    outcomes: list[str] = []

    def run():
        try:
            barrier.wait()
            attempt()
            outcomes.append("ok")
        except services.LoginFailed as exc:
            outcomes.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["login", "reauth"])
def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(staff, counted_checks, door):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:"):
        pytest.skip("an in-memory SQLite test database has no concurrent writers")
    user = staff["caseworker"]

    def attempt():
        if door == "login":
            services.check_password(None, user.username, "wrong password!")
        else:
            services.check_password_for(User.objects.get(pk=user.pk), "wrong password!")

    outcomes = _in_parallel(attempt)
    assert len(outcomes) == PARALLEL
    assert len(counted_checks) <= settings.JIKIMI_LOCKOUT_ATTEMPTS
    assert outcomes.count("invalid") == len(counted_checks)
    assert outcomes.count("locked") == PARALLEL - len(counted_checks)
    user.refresh_from_db()
    assert services.is_locked(user)


@pytest.mark.django_db
def test_a_right_password_is_no_failure(staff):
    user = staff["caseworker"]
    with pytest.raises(services.LoginFailed):
        services.check_password_for(user, "wrong password!")
    services.check_password_for(user, PASSWORD)
    services.check_password(None, user.username, PASSWORD)
    user.refresh_from_db()
    assert user.failed_logins == 1


# --- 7. Re-authentication is under the lock-out ---------------------------------------------


@pytest.mark.django_db
def test_reauth_refuses_a_locked_accounts_right_password(client, login, staff):
    user = staff["caseworker"]
    login(client, user)
    _lock(user)
    response = client.post(
        "/accounts/reauth", {"password": PASSWORD, "next": "/people/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "locked" in response.content.decode()
    assert services.REAUTH_SESSION_KEY not in client.session
    with pytest.raises(services.LoginFailed, match="locked"):
        services.check_password_for(user, PASSWORD)


@pytest.mark.django_db
def test_wrong_reauth_passwords_lock_the_account(client, login, staff):
    user = staff["caseworker"]
    login(client, user)
    for _ in range(settings.JIKIMI_LOCKOUT_ATTEMPTS):
        assert client.post("/accounts/reauth", {"password": "wrong!"}).status_code == 400
    user.refresh_from_db()
    assert services.is_locked(user)
    assert client.post("/accounts/reauth", {"password": PASSWORD}).status_code == 400


# --- 8. Locked reads like unknown on the login page -----------------------------------------


def _answer(response) -> tuple[int, str]:
    marker = 'role="alert">'
    return response.status_code, response.content.decode().split(marker)[1].split("<")[0]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ko"])
def test_login_answers_a_locked_account_like_an_unknown_user(client, staff, language):
    user = staff["caseworker"]
    _lock(user)

    def attempt(username, password):
        return _answer(
            client.post(
                LOGIN,
                {"step": "password", "username": username, "password": password},
                HTTP_ACCEPT_LANGUAGE=language,
            )
        )

    unknown = attempt("nobody-here", PASSWORD)
    assert attempt(user.username, PASSWORD) == unknown
    assert attempt(user.username, "wrong password!") == unknown
    assert unknown[0] == 400
