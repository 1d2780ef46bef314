from __future__ import annotations

import pytest

from jikimi.notify.tests.fixtures import gateway, smtp  # noqa: F401


@pytest.fixture
def person(staff):
    from jikimi.people import services as people

    for role, user in staff.items():
        user.email = f"{role}@alpha.example"
        user.save(update_fields=["email"])
    cw = staff["caseworker"]
    p = people.create_person(cw, name="김철수")
    people.record_consent(cw, p, purpose="checkins", granted=True, method="written")
    return p


@pytest.fixture
def enrol(staff, person):
    """enrol(**kw) → (enrolment, checkin token) with PIN 2580 and duress PIN 1397."""
    from jikimi.checkins import services

    def _enrol(p=None, **kw):
        kw.setdefault("interval_hours", 24)
        result = services.enrol(staff["caseworker"], p or person, **kw)
        token = services.set_pins(result.setup_token, "2580", "1397", now=kw.get("now"))
        result.enrolment.refresh_from_db()
        return result.enrolment, token

    return _enrol


@pytest.fixture
def api(api_client, api_token, staff):
    """api(role) → the API client signed in with a token of that role's staff member."""

    def _as(role):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff[role])}")
        return api_client

    return _as
