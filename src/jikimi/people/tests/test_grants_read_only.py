"""A sharing grant lets the receiving organisation read a person, never change them.

Issue 12, point 5: `POST /api/people/<code>/identities/` answered 201 for the grantee. Every
write — identities (aliases too), consent, trusted contacts, the person's fields, passing
the person on — is refused through every door: services, API and pages.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.core.errors import ReadOnlyAccess
from jikimi.people import services
from jikimi.people.models import Consent, Identity, TrustedContact

pytestmark = pytest.mark.django_db

REFUSAL = "A person shared with your organisation can be read, not changed."


@pytest.fixture
def shared(staff, orgs):
    """A person of alpha shared with beta (whose case worker is the `outsider`)."""
    owner = staff["caseworker"]
    person = services.create_person(owner, name="이지현", birth_year=1990)
    services.record_consent(owner, person, purpose="sharing", granted=True)
    services.grant_access(owner, person, orgs[1], "transfer of the case")
    return person


def _written(person) -> tuple[int, int, int]:
    return (
        Identity.objects.filter(person=person).count(),
        Consent.objects.filter(person=person).count(),
        TrustedContact.objects.filter(person=person).count(),
    )


SERVICE_WRITES = {
    "identity": lambda u, p: services.add_identity(u, p, kind="phone", value="010-1234-5678"),
    "alias": lambda u, p: services.add_identity(
        u, p, kind="name", value="Li Zhixian", name_kind="cn_alias"
    ),
    "consent": lambda u, p: services.record_consent(u, p, purpose="checkins", granted=True),
    "contact": lambda u, p: services.add_trusted_contact(u, p, name="엄마", phone="010-9999"),
    "edit": lambda u, p: services.update_person(u, p, birth_year=1991),
    "remove_identity": lambda u, p: services.remove_identity(
        u, p, str(p.identities.values_list("pk", flat=True).first())
    ),
    "share": lambda u, p: services.grant_access(u, p, u.organisation, "pass it on"),
}


@pytest.mark.parametrize("write", SERVICE_WRITES)
def test_the_services_refuse_every_write_through_a_grant(staff, shared, write):
    before = _written(shared)
    with pytest.raises(ReadOnlyAccess):
        SERVICE_WRITES[write](staff["outsider"], shared)
    assert _written(shared) == before
    shared.refresh_from_db()
    assert shared.birth_year == 1990
    assert AuditEvent.objects.filter(
        action="person.write_refused", object_ref=shared.code, actor_id=staff["outsider"].pk
    ).exists()


def test_the_services_still_let_the_grantee_read(staff, shared):
    person = services.get_person(staff["outsider"], shared.code)
    assert [i["value"] for i in services.identities_of(staff["outsider"], person)] == ["이지현"]
    with pytest.raises(ReadOnlyAccess):
        services.get_person(staff["outsider"], shared.code, purpose="edit")


API_WRITES = [
    ("post", "identities/", {"kind": "phone", "value": "010-1234-5678"}),
    ("post", "identities/", {"kind": "name", "value": "Li Zhixian", "name_kind": "cn_alias"}),
    ("post", "consents/", {"purpose": "checkins", "granted": True}),
    ("post", "trusted-contacts/", {"name": "엄마", "phone": "010-9999-0000"}),
    ("patch", "", {"birth_year": 1991}),
    ("post", "grants/", {"organisation": "beta", "reason": "pass it on"}),
]


@pytest.mark.parametrize(("method", "path", "body"), API_WRITES)
def test_the_api_refuses_every_write_through_a_grant(
    staff, shared, api_client, api_token, method, path, body
):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token(staff['outsider'])}", HTTP_ACCEPT_LANGUAGE="en"
    )
    before = _written(shared)
    response = getattr(api_client, method)(f"/api/people/{shared.code}/{path}", body, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": REFUSAL}
    assert _written(shared) == before
    assert api_client.get(f"/api/people/{shared.code}/").status_code == 200


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("add_identity", {"kind": "phone", "value": "010-1234-5678"}),
        ("add_identity", {"kind": "name", "value": "Li Zhixian", "name_kind": "cn_alias"}),
        ("record_consent", {"purpose": "checkins", "granted": "on"}),
        ("add_contact", {"name": "엄마", "phone": "010-9999-0000", "language": "ko"}),
        ("edit", {"birth_year": "1991"}),
        ("share", {"organisation": "1", "reason": "pass it on"}),
    ],
)
def test_the_pages_refuse_every_write_through_a_grant(client, login, staff, shared, name, data):
    login(client, staff["outsider"])
    before = _written(shared)
    response = client.post(reverse(f"people:{name}", args=[shared.code]), data)
    assert response.status_code == 403
    assert _written(shared) == before
    assert client.get(reverse("people:detail", args=[shared.code])).status_code == 200


def test_the_owner_still_writes(staff, shared, api_client, api_token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    response = api_client.post(
        f"/api/people/{shared.code}/identities/",
        {"kind": "phone", "value": "010-1234-5678"},
        format="json",
    )
    assert response.status_code == 201


def test_the_detail_page_offers_the_grantee_no_forms(client, login, staff, shared):
    login(client, staff["outsider"])
    body = client.get(reverse("people:detail", args=[shared.code])).content.decode()
    assert reverse("people:add_identity", args=[shared.code]) not in body
    assert reverse("people:edit", args=[shared.code]) not in body
