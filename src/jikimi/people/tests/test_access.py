"""Another organisation's person is a 404 in the API and services, until shared by a grant."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.people import services
from jikimi.people.services import NotFound


@pytest.fixture
def alpha_person(staff):
    worker = staff["caseworker"]
    person = services.create_person(worker, name="이지현", birth_year=1990)
    services.add_identity(worker, person, kind="address", value="Seoul, Gangseo-gu 1-2")
    return person


def test_it_hides_another_organisations_person(staff, alpha_person, api_client, api_token):
    outsider = staff["outsider"]
    with pytest.raises(NotFound):
        services.get_person(outsider, alpha_person.code)
    assert services.search_people(outsider, "Lee Jihyun") == []
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(outsider)}")
    assert api_client.get(f"/api/people/{alpha_person.code}/").status_code == 404
    assert api_client.get("/api/people/P-ZZZZ-ZZZZ/").status_code == 404  # same answer
    listed = api_client.get("/api/people/").json()
    assert alpha_person.code not in {r["code"] for r in listed["results"]}
    assert (
        api_client.post(
            f"/api/people/{alpha_person.code}/identities/",
            {"kind": "name", "value": "x"},
            format="json",
        ).status_code
        == 404
    )


def test_it_shares_a_person_by_grant_and_logs_the_access(
    staff, alpha_person, api_client, api_token, orgs
):
    owner, outsider = staff["caseworker"], staff["outsider"]
    with pytest.raises(services.InvalidInput, match="consent"):
        services.grant_access(owner, alpha_person, orgs[1], "transfer of the case")
    services.record_consent(owner, alpha_person, purpose="sharing", granted=True)
    services.grant_access(owner, alpha_person, orgs[1], "transfer of the case")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(outsider)}")
    resp = api_client.get(f"/api/people/{alpha_person.code}/")
    assert resp.status_code == 200
    names = [i["value"] for i in resp.json()["identities"] if i["kind"] == "name"]
    assert names == ["이지현"]
    assert services.search_people(outsider, "Yi Ji-hyon")[0].code == alpha_person.code
    read = AuditEvent.objects.filter(
        action="person.read", object_ref=alpha_person.code, actor_id=outsider.pk
    ).last()
    assert read.detail == {"purpose": "view", "via_grant": True}
    assert AuditEvent.objects.filter(action="person.share", object_ref=alpha_person.code)


def test_it_gives_analysts_no_identities(staff, alpha_person, api_client, api_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    resp = api_client.get(f"/api/people/{alpha_person.code}/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["identities"] == [] and body["trusted_contacts"] == []
    assert "이지현" not in resp.content.decode()
    rows = api_client.get("/api/people/").json()["results"]
    assert rows and all(r["display_name"] is None for r in rows)
    assert api_client.post("/api/people/", {"name": "김철수"}, format="json").status_code == 403


def test_it_masks_addresses_until_reauthentication(staff, alpha_person):
    rows = services.identities_of(staff["caseworker"], alpha_person)
    address = next(r for r in rows if r["kind"] == "address")
    assert address["masked"] and address["value"] is None
    revealed = services.identities_of(staff["caseworker"], alpha_person, reveal_addresses=True)
    assert next(r for r in revealed if r["kind"] == "address")["value"].startswith("Seoul")


@pytest.mark.parametrize(
    "query", ["Lee Jihyun", "Yi Ji-hyon", "Ri Ji Hyon", "이지현", "리지현", "Jihyun Lee"]
)
def test_it_finds_a_hangul_name_from_any_romanisation(staff, alpha_person, query):
    rows = services.search_people(staff["caseworker"], query)
    assert [r.code for r in rows] == [alpha_person.code]


def test_it_does_not_find_a_different_name(staff, alpha_person):
    assert services.search_people(staff["caseworker"], "Kim Jihyun") == []


def test_it_rebuilds_lost_or_stale_index_entries(staff, alpha_person):
    from django.core.management import call_command

    from jikimi.people.models import IdentityIndex

    IdentityIndex.objects.filter(person=alpha_person).update(digest="0" * 32)  # stale digests
    assert services.search_people(staff["caseworker"], "Lee Jihyun") == []
    call_command("reindex")
    assert [r.code for r in services.search_people(staff["caseworker"], "Lee Jihyun")] == [
        alpha_person.code
    ]


@pytest.mark.parametrize("role", ["analyst", "auditor"])
@pytest.mark.parametrize("query", ["이지현", "Lee Ji-hyun", "010-1234-5678", "jh@example.org"])
def test_roles_without_identities_cannot_search_by_one(
    staff, alpha_person, api_client, api_token, client, login, role, query
):
    """Issue 12.2: the code a name search returns would re-identify the person."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff[role])}")
    answer = api_client.get("/api/people/", {"q": query})
    assert answer.status_code == 400
    assert "q" in answer.json() and alpha_person.code not in answer.content.decode()
    login(client, staff[role])
    page = client.post(reverse("people:list"), {"q": query}).content.decode()
    assert alpha_person.code not in page and 'class="field-error"' in page
    # By code they still find the person (pseudonymous, as everywhere else for them).
    answer = api_client.get("/api/people/", {"q": alpha_person.code})
    assert [r["code"] for r in answer.json()["results"]] == [alpha_person.code]


def test_roles_with_identities_still_search_by_name(staff, alpha_person):
    found = services.search_people(staff["caseworker"], "Ri Ji Hyon")
    assert [r.code for r in found] == [alpha_person.code]
