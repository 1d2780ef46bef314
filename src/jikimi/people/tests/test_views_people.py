"""The people pages: list, search, create, detail, edit and the detail page's forms."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.people import services
from jikimi.people.models import Person


@pytest.fixture
def person(staff):
    return services.create_person(
        staff["caseworker"],
        name="이지현",
        birth_year=1988,
        sex="F",
        province="North Hamgyong",
        defection_year=2012,
        notes="met in Yanji",
    )


def _detail(code):
    return reverse("people:detail", args=[code])


def test_it_lists_people_with_names_for_case_workers(client, staff, login, person):
    login(client, staff["caseworker"])
    body = client.get(reverse("people:list")).content.decode()
    assert person.code in body and "이지현" in body


def test_it_pages_the_list_by_fifty(client, staff, login):
    for i in range(51):
        services.create_person(staff["caseworker"], name=f"Kim Test{i}")
    login(client, staff["caseworker"])
    first = client.get(reverse("people:list")).content.decode()
    second = client.get(reverse("people:list") + "?page=2").content.decode()
    assert len(re.findall(r'class="code" href="/people/P-', first)) == 50
    assert len(re.findall(r'class="code" href="/people/P-', second)) == 1
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_it_finds_a_hangul_name_from_a_romanisation(client, staff, login, person):
    login(client, staff["caseworker"])
    for query in ("Lee Ji-hyun", "Ri Ji Hyon", "이지현", person.code):
        response = client.post(reverse("people:list"), {"q": query}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = response.content.decode()
        assert person.code in body, query
        assert "<html" not in body  # htmx gets the results fragment only


def test_it_keeps_search_terms_out_of_the_audit_log(client, staff, login, person):
    login(client, staff["caseworker"])
    client.post(reverse("people:list"), {"q": "Lee Ji-hyun"})
    event = AuditEvent.objects.filter(action="people.search").latest("id")
    assert "Lee" not in str(event.detail) and person.code in event.detail["codes"]


def test_it_shows_analysts_no_names(client, staff, login, person):
    login(client, staff["analyst"])
    listing = client.get(reverse("people:list")).content.decode()
    detail = client.get(_detail(person.code)).content.decode()
    assert person.code in listing and person.code in detail
    for body in (listing, detail):
        assert "이지현" not in body and "Yanji" not in body
    # A name search would re-identify (issue 12.2): refused on the field; the code finds.
    refused = client.post(reverse("people:list"), {"q": "Lee Ji-hyun"}).content.decode()
    assert person.code not in refused and 'class="field-error"' in refused
    found = client.post(reverse("people:list"), {"q": person.code}).content.decode()
    assert person.code in found and "이지현" not in found


def test_it_creates_a_person(client, staff, login):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("people:new"),
        {
            "name": "박성철",
            "name_kind": "nk_birth",
            "birth_year": "1975",
            "sex": "M",
            "province": "KP-10",
            "defection_year": "2009",
            "notes": "",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(code=response["Location"].split("/")[2])
    assert person.display_name == "박성철" and person.birth_year == 1975
    assert person.province == "KP-10"
    page = client.get(response["Location"]).content.decode()
    assert "박성철" in page and "양강도" in page  # the province by its Korean name


def test_it_answers_400_with_field_errors_for_a_bad_create(client, staff, login):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("people:new"),
        {"name": "", "name_kind": "sk_legal", "birth_year": "1800", "sex": "X"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert body.count('class="field-error"') >= 3
    assert not Person.objects.exists()


def test_it_refuses_create_to_analysts(client, staff, login):
    login(client, staff["analyst"])
    assert client.get(reverse("people:new")).status_code == 403


def test_it_edits_a_person(client, staff, login, person):
    login(client, staff["supervisor"])
    url = reverse("people:edit", args=[person.code])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"birth_year": "abc", "status": "active"})
    assert bad.status_code == 400 and "field-error" in bad.content.decode()
    ok = client.post(url, {"birth_year": "1989", "status": "missing", "sex": "F"})
    assert ok.status_code == 302
    person.refresh_from_db()
    assert person.birth_year == 1989 and person.status == "missing"


def test_it_hides_another_organisations_person_with_404(client, staff, login, person):
    login(client, staff["outsider"])
    assert client.get(_detail(person.code)).status_code == 404
    assert client.get(_detail("P-ZZZZ-ZZZZ")).status_code == 404
    assert (
        client.post(
            reverse("people:add_identity", args=[person.code]), {"kind": "name", "value": "x"}
        ).status_code
        == 404
    )
    assert person.code not in client.get(reverse("people:list")).content.decode()


def test_it_shows_a_shared_person_and_audits_the_read_via_grant(client, staff, login, person, orgs):
    owner = staff["caseworker"]
    services.record_consent(owner, person, purpose="sharing", granted=True)
    login(client, owner)
    response = client.post(
        reverse("people:share", args=[person.code]),
        {"organisation": orgs[1].pk, "reason": "joint protection case"},
    )
    assert response.status_code == 302
    client.logout()
    login(client, staff["outsider"])
    assert client.get(_detail(person.code)).status_code == 200
    read = AuditEvent.objects.filter(
        action="person.read", object_ref=person.code, actor_id=staff["outsider"].pk
    ).latest("id")
    assert read.detail.get("via_grant") is True


def test_it_needs_sharing_consent_to_share(client, staff, login, person, orgs):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("people:share", args=[person.code]), {"organisation": orgs[1].pk, "reason": "case"}
    )
    assert response.status_code == 400
    assert (
        "field-error" in response.content.decode() or 'class="error"' in response.content.decode()
    )


def test_it_adds_an_alias_identity(client, staff, login, person):
    login(client, staff["caseworker"])
    url = reverse("people:add_identity", args=[person.code])
    assert (
        client.post(url, {"kind": "name", "name_kind": "cn_alias", "value": "李智贤"}).status_code
        == 302
    )
    body = client.get(_detail(person.code)).content.decode()
    assert "李智贤" in body
    bad = client.post(url, {"kind": "phone", "value": "12"})
    assert bad.status_code == 400 and "field-error" in bad.content.decode()


def test_it_masks_addresses_until_reauth(client, staff, login, person):
    services.add_identity(
        staff["caseworker"], person, kind="address", value="서울시 노원구 상계로 1"
    )
    login(client, staff["caseworker"])
    body = client.get(_detail(person.code)).content.decode()
    assert "상계로" not in body and "?reveal=addresses" in body
    reveal = _detail(person.code) + "?reveal=addresses"
    response = client.get(reveal)
    assert response.status_code == 302 and "/accounts/reauth" in response["Location"]
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": reveal})
    assert "상계로" in client.get(reveal).content.decode()


def test_it_records_consent_and_trusted_contacts(client, staff, login, person):
    login(client, staff["caseworker"])
    assert (
        client.post(
            reverse("people:record_consent", args=[person.code]),
            {
                "purpose": "checkins",
                "granted": "yes",
                "scope": "",
                "method": "written",
            },
        ).status_code
        == 302
    )
    assert services.has_consent(person, "checkins")
    bad = client.post(
        reverse("people:add_contact", args=[person.code]), {"name": "김영희", "language": "ko"}
    )
    assert bad.status_code == 400 and "field-error" in bad.content.decode()
    assert (
        client.post(
            reverse("people:add_contact", args=[person.code]),
            {
                "name": "김영희",
                "relationship": "sister",
                "phone": "010-1234-5678",
                "language": "ko",
            },
        ).status_code
        == 302
    )
    assert "김영희" in client.get(_detail(person.code)).content.decode()


def test_it_shows_the_audit_trail_to_auditors_only(client, staff, login, person):
    login(client, staff["auditor"])
    body = client.get(_detail(person.code)).content.decode()
    assert "person.create" in body and "이지현" not in body
    client.logout()
    login(client, staff["caseworker"])
    assert "person.create" not in client.get(_detail(person.code)).content.decode()


@pytest.mark.parametrize("role", ["admin", "supervisor", "caseworker", "analyst", "auditor"])
def test_it_renders_the_pages_for_every_role(client, staff, login, person, role):
    login(client, staff[role])
    for url in (reverse("people:list"), _detail(person.code), reverse("accounts:account")):
        assert client.get(url).status_code == 200, url


def test_it_removes_an_identity_and_revokes_a_grant(client, staff, login, person, orgs):
    owner = staff["caseworker"]
    alias = services.add_identity(owner, person, kind="name", name_kind="cn_alias", value="李智贤")
    services.record_consent(owner, person, purpose="sharing", granted=True)
    grant = services.grant_access(owner, person, orgs[1], "joint case")
    login(client, owner)
    url = reverse("people:remove_identity", args=[person.code, alias.pk])
    assert client.post(url).status_code == 302
    assert "李智贤" not in client.get(_detail(person.code)).content.decode()
    assert client.post(url).status_code == 404
    revoke = reverse("people:revoke_grant", args=[person.code, grant.pk])
    assert client.post(revoke).status_code == 302
    client.logout()
    login(client, staff["outsider"])
    assert client.get(_detail(person.code)).status_code == 404


def test_it_answers_a_page_number_no_database_can_take(client, staff, login, person):
    login(client, staff["caseworker"])
    response = client.get(reverse("people:list"), {"page": "10000000000000000000000"})
    assert response.status_code == 200
    assert person.code not in response.content.decode()


def _flash(response) -> list[str]:
    """The confirmation messages the page after a redirect shows (base.html renders them)."""
    body = response.content.decode()
    return re.findall(r'<li class="success">([^<]*)</li>', body)


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Saved: Alias used in China added to the identities."),
        ("ko", "저장했습니다: 신원 정보에 중국에서 쓴 가명 항목을 추가했습니다."),
    ],
)
def test_saving_an_identity_confirms_it_in_the_language_of_the_page(
    client, staff, login, person, language, expected
):
    login(client, staff["caseworker"])
    client.cookies["django_language"] = language
    url = reverse("people:add_identity", args=[person.code])
    response = client.post(
        url, {"kind": "name", "name_kind": "cn_alias", "value": "李智贤"}, follow=True
    )
    assert _flash(response) == [expected]
    # Once: the next page shows no confirmation again.
    assert _flash(client.get(_detail(person.code))) == []


def test_saving_an_address_confirms_it_without_showing_the_address(client, staff, login, person):
    login(client, staff["caseworker"])
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("people:add_identity", args=[person.code]),
        {"kind": "address", "value": "서울시 노원구 상계로 1"},
        follow=True,
    )
    assert _flash(response) == ["Saved: Address added to the identities."]
    assert "상계로" not in response.content.decode()


def test_a_rejected_identity_shows_errors_not_a_confirmation(client, staff, login, person):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("people:add_identity", args=[person.code]), {"kind": "phone", "value": "12"}
    )
    assert response.status_code == 400 and _flash(response) == []


@pytest.mark.parametrize(
    "granted, english, korean",
    [
        ("yes", "Saved: consent to “Scheduled check-ins” given.", "“정기 안부 확인”에 동의함."),
        (
            "no",
            "Saved: consent to “Scheduled check-ins” refused or withdrawn.",
            "“정기 안부 확인” 동의를 거부 또는 철회함.",
        ),
    ],
)
def test_recording_consent_confirms_the_decision(
    client, staff, login, person, granted, english, korean
):
    login(client, staff["caseworker"])
    url = reverse("people:record_consent", args=[person.code])
    data = {"purpose": "checkins", "granted": granted, "scope": "", "method": "written"}
    client.cookies["django_language"] = "en"
    assert _flash(client.post(url, data, follow=True)) == [english]
    client.cookies["django_language"] = "ko"
    assert _flash(client.post(url, data, follow=True)) == [f"저장했습니다: {korean}"]


def test_adding_a_trusted_contact_confirms_it(client, staff, login, person):
    login(client, staff["caseworker"])
    client.cookies["django_language"] = "ko"
    response = client.post(
        reverse("people:add_contact", args=[person.code]),
        {"name": "김영희", "relationship": "sister", "phone": "010-1234-5678", "language": "ko"},
        follow=True,
    )
    assert _flash(response) == ["저장했습니다: 신뢰 연락처에 김영희 님을 추가했습니다."]
