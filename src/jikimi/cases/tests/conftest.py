from __future__ import annotations

import pytest

from jikimi.notify.tests.fixtures import smtp  # noqa: F401


@pytest.fixture
def person(staff):
    """A synthetic person of organisation alpha; staff have e-mail addresses."""
    from jikimi.people import services as people

    for role, user in staff.items():
        user.email = f"{role}@example.org"
        user.save(update_fields=["email"])
    return people.create_person(staff["caseworker"], name="리영호", birth_year=1979, sex="M")


@pytest.fixture
def case(staff, person):
    from jikimi.cases import services

    return services.open_case(
        staff["caseworker"], person.code, kind="detained", notes="구금 장소: 도문 변방구류소"
    )


@pytest.fixture
def api(api_client, api_token, staff):
    """api(role) → the API client signed in with a token of that role's staff member."""

    def _as(role):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff[role])}")
        return api_client

    return _as
