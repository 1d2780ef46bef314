"""Every `next` goes through core.redirects.safe_next: a path of ours, else the default.

Issue 12: point 4 (the task "done" view followed `next=https://evil.example/x` off-site) and
point 9 (`next=board`, no URL, was looked up as a view name: a 500).
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from jikimi.conftest import PASSWORD
from jikimi.core.redirects import is_safe_target, safe_next

EVIL = [
    "https://evil.example/x",
    "//evil.example/x",
    "/\\evil.example/x",
    "http://testserver.evil.example/",
    "javascript:alert(1)",
    "board",
    "/no/such/page",
    "",
]


@pytest.mark.nodb
@pytest.mark.parametrize("target", EVIL)
def test_it_refuses_what_is_not_a_path_of_ours(target):
    request = RequestFactory().post("/", {"next": target})
    assert not is_safe_target(request, target)
    assert safe_next(request, "/default") == "/default"


@pytest.mark.nodb
@pytest.mark.parametrize("target", ["/people/", "/people/?page=2", "/accounts/me"])
def test_it_keeps_a_path_of_ours(target):
    request = RequestFactory().get("/", {"next": target})
    assert safe_next(request, "/default") == target


@pytest.fixture
def task(staff):
    """An open task on an alert of alpha (the authorities to notify after a duress PIN)."""
    from django.utils import timezone

    from jikimi.alerts.models import Alert, Task

    alert = Alert.objects.create(
        organisation=staff["caseworker"].organisation,
        kind="duress",
        priority=0,
        key="test-duress",
        created_at=timezone.now(),
    )
    return Task.objects.create(alert=alert, created_at=timezone.now())


@pytest.mark.django_db
@pytest.mark.parametrize("target", EVIL)
def test_the_task_done_view_stays_on_the_site(client, login, staff, task, target):
    login(client, staff["caseworker"])
    response = client.post(f"/checkins/tasks/{task.pk}/done", {"next": target})
    assert response.status_code == 302
    assert response.url == "/checkins/"


@pytest.mark.django_db
def test_the_task_done_view_follows_a_path_of_ours(client, login, staff, task):
    login(client, staff["caseworker"])
    response = client.post(f"/checkins/tasks/{task.pk}/done", {"next": "/people/"})
    assert response.url == "/people/"


@pytest.mark.django_db
@pytest.mark.parametrize("target", EVIL)
def test_login_while_signed_in_stays_on_the_site(client, login, staff, target):
    login(client, staff["caseworker"])
    response = client.get("/accounts/login", {"next": target})
    assert response.status_code == 302
    assert response.url == "/people/"


@pytest.mark.django_db
@pytest.mark.parametrize("target", EVIL)
def test_reauth_stays_on_the_site(client, login, staff, target):
    login(client, staff["caseworker"])
    response = client.post("/accounts/reauth", {"password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.url == "/accounts/me"
    # the form's hidden `next` is never an unsafe target either
    page = client.get("/accounts/reauth", {"next": target})
    assert page.status_code == 200
    assert page.context["next"] == "/accounts/me"
