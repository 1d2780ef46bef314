"""The board shows any kind's alert; a task is marked done from the alert's page."""

from __future__ import annotations

import pytest

from jikimi.alerts import services
from jikimi.alerts.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def deadline(staff, person, deadline_kind):
    from django.utils import timezone

    alert = services.raise_alert(
        organisation_id=person.organisation_id,
        kind="test_deadline",
        key="deadline:C-9",
        detail={"case": "C-9"},
        person=person,
    )
    services.create_task(alert, kind="notify_authorities", now=timezone.now())
    return alert


def test_it_shows_an_alert_of_any_kind_with_its_person(client, login, staff, person, deadline):
    login(client, staff["caseworker"])
    rows = client.get("/checkins/?fragment=1").content.decode()
    assert "Case deadline" in rows and person.code in rows
    page = client.get(f"/checkins/alerts/{deadline.pk}").content.decode()
    # A case worker may see identities: the name, with the code beside it.
    assert person.code in page and "김철수" in page


def test_it_marks_a_task_done_and_returns_only_to_this_site(client, login, staff, deadline):
    task = Task.objects.get()
    login(client, staff["outsider"])
    assert client.post(f"/checkins/tasks/{task.pk}/done").status_code == 404
    login(client, staff["caseworker"])
    response = client.post(f"/checkins/tasks/{task.pk}/done", {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/checkins/"
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == staff["caseworker"]
    back = client.post(
        f"/checkins/tasks/{task.pk}/done", {"next": f"/checkins/alerts/{deadline.pk}"}
    )
    assert back["Location"] == f"/checkins/alerts/{deadline.pk}"
