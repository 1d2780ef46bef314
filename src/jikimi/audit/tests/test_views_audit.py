"""The audit page: who may see it, filters, and the chain check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jikimi.audit import services as audit
from jikimi.audit.models import AuditEvent
from jikimi.people import services as people


def rows(body: str) -> str:
    """The events table of a page (the filter's options name every action code too)."""
    return body[body.index("<tbody>") : body.index("</tbody>")] if "<tbody>" in body else ""


@pytest.fixture
def person(staff):
    return people.create_person(staff["caseworker"], name="최명호")


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_it_shows_recent_events_to_auditors_and_admins(client, staff, login, person, role):
    login(client, staff[role])
    response = client.get(reverse("audit:index"))
    assert response.status_code == 200
    assert "person.create" in rows(response.content.decode())


@pytest.mark.parametrize("role", ["caseworker", "supervisor", "analyst", "outsider"])
def test_it_hides_the_audit_page_from_other_roles(client, staff, login, role):
    login(client, staff[role])
    assert client.get(reverse("audit:index")).status_code == 404


def test_it_filters_by_action_prefix_and_person(client, staff, login, person):
    other = people.create_person(staff["caseworker"], name="정수진")
    audit.record("login.ok", actor=staff["caseworker"])
    login(client, staff["auditor"])
    body = rows(client.get(reverse("audit:index") + "?action=login.").content.decode())
    assert "login.ok" in body and "person.create" not in body
    body = client.get(reverse("audit:index") + f"?ref={person.code.lower()}").content.decode()
    assert person.code in rows(body) and other.code not in body


def test_it_verifies_an_intact_chain_and_names_the_first_bad_row(client, staff, login, person):
    login(client, staff["auditor"])
    body = client.post(reverse("audit:index")).content.decode()
    assert 'class="ok"' in body
    victim = AuditEvent.objects.filter(action="person.create").first()
    AuditEvent.objects.filter(pk=victim.pk).update(object_ref="P-EDIT-EDIT")
    body = client.post(reverse("audit:index")).content.decode()
    assert 'class="error"' in body and str(victim.pk) in body
    assert 'class="ok"' not in body
    assert f"{victim.pk}번 기록에서 체인이 깨졌습니다: 내용이 변경됨" in body  # in Korean


@pytest.mark.parametrize(
    ("reason", "korean"),
    [
        ("missing (deleted) or out of order", "없음(삭제됨) 또는 순서가 바뀜"),
        (
            "missing: the chain head names row 42 but the log ends before it (rows deleted at "
            "the end)",
            "체인 끝은 42번 기록을 가리키지만",
        ),
        ("something new", "something new"),  # a reason with no translation yet: as it is
    ],
)
def test_each_chain_problem_reads_in_korean(reason, korean):
    from django.utils import translation

    from jikimi.audit.labels import chain_reason

    with translation.override("ko"):
        assert korean in chain_reason(reason)


@pytest.fixture
def shared_with_alpha(orgs, staff):
    """A person of beta's, shared with alpha, that beta's staff worked on."""
    from jikimi.accounts.services import create_staff

    alpha, beta = orgs
    beta_worker = staff["outsider"]
    person = people.create_person(beta_worker, name="한지민")
    people.record_consent(beta_worker, person, purpose="sharing", granted=True)
    people.grant_access(beta_worker, person, alpha, reason="transfer to alpha's shelter")
    beta_auditor, _ = create_staff("auditor-b", "correct horse battery staple", beta, "auditor")
    return person, beta_worker, beta_auditor


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_it_shows_no_other_organisations_events(client, staff, login, shared_with_alpha, role):
    """Issue 12.1: alpha's auditor sees neither beta's staff nor beta's actions."""
    person, beta_worker, _ = shared_with_alpha
    people.get_person(staff["caseworker"], person.code)  # alpha reads the shared person
    login(client, staff[role])
    for url in (reverse("audit:index"), reverse("audit:index") + f"?ref={person.code}"):
        body = client.get(url).content.decode()
        assert beta_worker.username not in body
        assert "person.create" not in rows(body) and "person.share" not in rows(body)
    body = rows(client.get(reverse("audit:index") + f"?ref={person.code}").content.decode())
    assert "person.read" in body  # alpha's own read of the shared person


def test_a_shared_persons_page_shows_only_the_viewers_own_events(
    client, staff, login, shared_with_alpha
):
    person, beta_worker, beta_auditor = shared_with_alpha
    login(client, staff["admin"])
    body = client.get(reverse("people:detail", args=[person.code])).content.decode()
    assert beta_worker.username not in body and "person.share" not in body
    # Beta still sees its own trail of the person in full.
    client.logout()
    login(client, beta_auditor)
    body = rows(client.get(reverse("audit:index") + f"?ref={person.code}").content.decode())
    assert "person.create" in body and "person.share" in body


@pytest.mark.parametrize("typed", ["최명호", "Choe Myong Ho", "P-2222-22222", "x' OR 1=1"])
def test_a_name_typed_where_a_code_belongs_is_never_written_to_the_log(
    client, api_client, api_token, staff, login, typed
):
    """Issue 12.3: the log stores codes and ids only; anything else is "malformed"."""
    from urllib.parse import quote

    login(client, staff["auditor"])
    client.get(reverse("audit:index") + f"?ref={quote(typed)}")
    client.logout()
    login(client, staff["caseworker"])
    client.get(f"/people/{quote(typed)}/")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    api_client.get(f"/api/people/{quote(typed)}/")
    stored = [
        (e.object_ref, str(e.detail))
        for e in AuditEvent.objects.filter(action__in=("audit.view", "person.not_found"))
    ]
    assert stored, "the reads were audited"
    assert all(typed not in ref and typed not in detail for ref, detail in stored)
    assert {ref for ref, _ in stored} <= {"", "malformed"}
    assert AuditEvent.objects.filter(action="person.not_found", object_ref="malformed").count()


def test_a_well_formed_code_is_kept(client, staff, login, person):
    login(client, staff["auditor"])
    client.get(reverse("audit:index") + f"?ref={person.code}")
    view = AuditEvent.objects.filter(action="audit.view").last()
    assert view.detail["ref"] == person.code


def test_the_date_filters_show_the_format_on_the_korean_page_not_the_browsers(client, staff, login):
    """<input type=date> shows the browser's mm/dd/yyyy whatever the page's language."""
    login(client, staff["auditor"])
    body = client.get(reverse("audit:index"), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'type="date"' not in body
    assert body.count('placeholder="YYYY-MM-DD"') == 2
    assert body.count("연-월-일 형식(예:") == 2
    assert 'aria-describedby="id_date_from_helptext"' in body
    response = client.get(reverse("audit:index") + "?date_from=2026-12-01&date_to=2026-12-02")
    assert 'value="2026-12-01"' in response.content.decode()
