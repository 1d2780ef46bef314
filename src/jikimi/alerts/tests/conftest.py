from __future__ import annotations

import pytest

from jikimi.notify.tests.fixtures import smtp  # noqa: F401


@pytest.fixture
def deadline_kind():
    """A kind like the one cases will register (a deadline that escalates on a ladder)."""
    from jikimi.alerts.registry import register_kind

    return register_kind("test_deadline", "Case deadline", priority=1, person_at_risk=True)


@pytest.fixture
def mailed_staff(staff):
    for role, user in staff.items():
        user.email = f"{role}@example.org"
        user.save(update_fields=["email"])
    return staff


@pytest.fixture
def person(staff):
    from jikimi.people import services as people

    return people.create_person(staff["caseworker"], name="김철수")
