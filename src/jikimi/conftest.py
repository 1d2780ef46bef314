"""Shared test fixtures: a test key ring, organisations and the staff personas.

Personas (after healthchecks' test base): in organisation `alpha` an admin, a supervisor,
a case worker, an analyst and an auditor; in organisation `beta` an outsider case worker.
`login(client, user)` gives a client that passed both factors.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from jikimi.core.keyring import KeyRing

# A fresh key ring per test run, from the environment, so no key file is needed.
os.environ.setdefault("JIKIMI_KEYS", KeyRing.generate().to_json())

PASSWORD = "correct horse battery staple"  # noqa: S105 - test personas

# The fixtures through which a test reaches the test run's database.
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def pytest_collection_modifyitems(items):
    """Mark `nodb` every test that asks for no database: pytest-django refuses it any access,
    so it runs the same on either database and the PostgreSQL pass skips it (it ran on
    SQLite). Tests that start processes on PostgreSQL themselves are marked `postgres`."""
    for item in items:
        if item.get_closest_marker("django_db") or item.get_closest_marker("postgres"):
            continue
        if DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.nodb)


@pytest.fixture
def orgs(db):
    from jikimi.accounts.services import ensure_organisation

    return (
        ensure_organisation("alpha", "Alpha Resettlement Support"),
        ensure_organisation("beta", "Beta Human Rights Centre"),
    )


@pytest.fixture
def staff(orgs):
    from jikimi.accounts.services import create_staff

    alpha, beta = orgs
    people = {}
    for role in ("admin", "supervisor", "caseworker", "analyst", "auditor"):
        people[role], _ = create_staff(f"{role}-a", PASSWORD, alpha, role)
    people["outsider"], _ = create_staff("caseworker-b", PASSWORD, beta, "caseworker")
    return people


@pytest.fixture
def login():
    """Log a test client in with both factors passed (the OTP device set in the session)."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from jikimi.accounts.services import totp_device

    def _login(client, user):
        client.force_login(user)
        session = client.session
        device = totp_device(user)
        assert device is not None, f"{user.username} has no TOTP device"
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return _login


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api_token():
    """`api_token(user)` issues a new API token through accounts.services and returns it."""
    from jikimi.accounts.services import issue_api_token

    def _token(user) -> str:
        return issue_api_token(user)[1]

    return _token


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """`cli("estimate", path, "--json")` runs `jikimi …` in this process, through the console
    script's entry point (`jikimi.cli.main`), and returns a CompletedProcess with the exit
    code (SystemExit's, 0 without one) and what the command wrote to stdout and stderr.

    It runs with this test run's settings: pytest-django's test database, the key ring from
    JIKIMI_KEYS, and a temporary JIKIMI_HOME for what `main` creates. Tests where the process
    boundary is the point (a crash, `serve`, processes side by side, a file database in a
    JIKIMI_HOME of its own) start the real `jikimi` instead.
    """
    from django.db import connections

    from jikimi.cli import main

    monkeypatch.setenv("JIKIMI_HOME", str(tmp_path / "cli-home"))
    # A command run from the command line closes every connection when it ends, as a process
    # about to exit may; here the test's transaction lives on that connection.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(*args) -> subprocess.CompletedProcess[str]:
        argv = [str(a) for a in args]
        capsys.readouterr()
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["jikimi", *argv], code, out, err)

    return run


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (Korean first). A request through the test
    client with another Accept-Language leaves that language active in the thread, so a later
    test on the same worker would otherwise read English where it expects Korean."""
    from django.utils import translation

    translation.deactivate()  # back to settings.LANGUAGE_CODE
    yield
    translation.deactivate()
