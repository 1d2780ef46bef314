"""The cases API: the same rules as the services, errors naming fields, 404 across
organisations, 409 on a stale version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jikimi.cases.models import Case, Referral
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


def test_it_opens_lists_and_reads_a_case(api, person):
    client = api("caseworker")
    created = client.post(
        "/api/cases/",
        {"person": person.code, "kind": "detained", "status": "detained", "notes": "메모"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "detained" and body["version"] == 1 and body["notes"] == "메모"
    assert [d["kind"] for d in body["deadlines"]] == ["review"]
    listed = client.get("/api/cases/?status=detained").json()
    assert listed["count"] == 1 and listed["results"][0]["code"] == body["code"]
    assert client.get(f"/api/cases/{body['code']}/").json()["person"] == person.code


def test_another_organisation_gets_404(api, case):
    client = api("outsider")
    assert client.get(f"/api/cases/{case.code}/").status_code == 404
    answer = client.post(
        f"/api/cases/{case.code}/status/", {"status": "released", "reason": "x"}, format="json"
    )
    assert answer.status_code == 404
    assert (
        client.patch(f"/api/cases/{case.code}/", {"version": 1}, format="json").status_code == 404
    )
    assert client.get("/api/cases/").json()["count"] == 0


def test_a_stale_version_is_409_and_the_first_edit_stays(api, case):
    client = api("caseworker")
    first = client.patch(f"/api/cases/{case.code}/", {"version": 1, "priority": 0}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2
    second = client.patch(f"/api/cases/{case.code}/", {"version": 1, "priority": 3}, format="json")
    assert second.status_code == 409 and second.json()["version"] == 2
    assert Case.objects.get(pk=case.pk).priority == 0


def test_errors_name_their_fields(api, case):
    client = api("caseworker")
    answer = client.post(
        f"/api/cases/{case.code}/status/", {"status": "detained", "reason": ""}, format="json"
    )
    assert answer.status_code == 400 and set(answer.json()) == {"reason"}
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    answer = client.post(f"/api/cases/{case.code}/deadlines/", {"due_at": past}, format="json")
    assert answer.status_code == 400 and set(answer.json()) == {"due_at"}
    answer = client.post(
        f"/api/cases/{case.code}/referrals/",
        {"to_organisation": "beta", "consent_basis": "person_consent"},
        format="json",
    )
    assert answer.status_code == 400 and set(answer.json()) == {"consent_basis"}
    assert not Referral.objects.exists()


def test_actions_contacts_and_a_referral_accepted_by_the_receiver(api, case, staff, person):
    client = api("caseworker")
    answer = client.post(
        f"/api/cases/{case.code}/actions/",
        {"channel": "unhcr", "description": "UNHCR 베이징 사무소에 요청"},
        format="json",
    )
    assert answer.status_code == 201
    answer = client.post(
        f"/api/cases/{case.code}/family-contacts/",
        {"how": "phone", "what_was_told": "요청 제출 사실"},
        format="json",
    )
    assert answer.status_code == 201
    people.record_consent(
        staff["caseworker"], person, purpose="sharing", granted=True, method="written"
    )
    referral = client.post(
        f"/api/cases/{case.code}/referrals/",
        {"to_organisation": "beta", "consent_basis": "person_consent"},
        format="json",
    ).json()
    receiver = api("outsider")
    assert receiver.get("/api/cases/referrals/incoming/").json()[0]["code"] == referral["code"]
    assert receiver.get(f"/api/cases/{case.code}/").status_code == 404
    accepted = receiver.post(f"/api/cases/referrals/{referral['code']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    detail = receiver.get(f"/api/cases/{case.code}/").json()
    assert len(detail["actions"]) == 1 and len(detail["family_contacts"]) == 1
    # The person came with it, read-only, through a sharing grant.
    assert receiver.get(f"/api/people/{person.code}/").status_code == 200


def test_a_declined_referral_needs_a_reason_and_shares_nothing(api, case, staff, person):
    from jikimi.people.models import SharingGrant

    referral = (
        api("caseworker")
        .post(
            f"/api/cases/{case.code}/referrals/",
            {
                "to_organisation": "beta",
                "consent_basis": "family_consent",
                "consent_note": "어머니가 서면 동의",
            },
            format="json",
        )
        .json()
    )
    receiver = api("outsider")
    url = f"/api/cases/referrals/{referral['code']}/decline/"
    refused = receiver.post(url, {}, format="json")
    assert refused.status_code == 400 and set(refused.json()) == {"reason"}
    declined = receiver.post(url, {"reason": "담당 지역 밖"}, format="json")
    assert declined.status_code == 200 and declined.json()["state"] == "declined"
    assert receiver.get(f"/api/cases/{case.code}/").status_code == 404
    assert not SharingGrant.objects.exists()


def test_the_work_lists(api, case):
    sup = api("supervisor")
    assert sup.get("/api/cases/worklists/no-family-contact/?days=14").json()["count"] == 1
    assert sup.get("/api/cases/worklists/deadlines/").json()["count"] == 0
    overview = sup.get("/api/cases/worklists/overview/").json()
    assert overview["by_status"][0]["status"] == "reported" and overview["count"] == 1
    assert sup.get("/api/cases/worklists/no-family-contact/?days=x").status_code == 400
    assert api("caseworker").get("/api/cases/worklists/overview/").status_code == 403


def test_a_refusal_for_the_role_answers_in_korean_naming_the_role(api, case):
    caseworker = api("caseworker")
    ko = caseworker.get("/api/cases/worklists/overview/", HTTP_ACCEPT_LANGUAGE="ko")
    assert ko.status_code == 403
    assert ko.json()["detail"] == "역할: 이 작업에는 다음 역할이 필요합니다: 관리자, 감독자."
    en = caseworker.get("/api/cases/worklists/overview/", HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["detail"] == "Role: this needs the role Administrator, Supervisor."
