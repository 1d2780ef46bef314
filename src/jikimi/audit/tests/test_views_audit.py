"""The audit page: who may see it, filters, and the chain check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.people import services as people


@pytest.fixture
def person(staff):
    return people.create_person(staff["caseworker"], name="최명호")


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_it_shows_recent_events_to_auditors_and_admins(client, staff, login, person, role):
    login(client, staff[role])
    response = client.get(reverse("audit:index"))
    assert response.status_code == 200
    assert "person.create" in response.content.decode()


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "analyst", "outsider"])
def test_it_hides_the_audit_page_from_other_roles(client, staff, login, role):
    login(client, staff[role])
    assert client.get(reverse("audit:index")).status_code == 404


def test_it_filters_by_action_prefix_and_person(client, staff, login, person):
    other = people.create_person(staff["caseworker"], name="정수진")
    login(client, staff["auditor"])
    body = client.get(reverse("audit:index") + "?action=login.").content.decode()
    assert "person.create" not in body
    body = client.get(reverse("audit:index") + f"?ref={person.code.lower()}").content.decode()
    assert person.code in body and other.code not in body


def test_it_verifies_an_intact_chain_and_names_the_first_bad_row(client, staff, login, person):
    login(client, staff["auditor"])
    body = client.post(reverse("audit:index")).content.decode()
    assert 'class="ok"' in body
    victim = AuditEvent.objects.filter(action="person.create").first()
    AuditEvent.objects.filter(pk=victim.pk).update(object_ref="P-EDIT-EDIT")
    body = client.post(reverse("audit:index")).content.decode()
    assert 'class="error"' in body and str(victim.pk) in body
    assert 'class="ok"' not in body
