"""Referral pages (refer, approve an override, accept or decline with a reason), the sharing
grant made on acceptance (both organisations' audit), and the supervisor's overview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jikimi.audit.models import AuditEvent
from jikimi.cases import services
from jikimi.cases.models import Case, Referral
from jikimi.people import services as people
from jikimi.people.models import SharingGrant

pytestmark = pytest.mark.django_db


def _orgs(action, ref):
    return set(
        AuditEvent.objects.filter(action=action, object_ref=ref).values_list(
            "organisation_id", flat=True
        )
    )


def test_refer_on_consent_then_the_receiver_sees_case_and_person_only_after_accepting(
    client, login, staff, case, person
):
    cw, outsider = staff["caseworker"], staff["outsider"]
    alpha, beta = cw.organisation_id, outsider.organisation_id
    login(client, cw)
    refused = client.post(
        f"/cases/{case.code}/referrals",
        {"to_organisation": "beta", "consent_basis": "person_consent"},
    )
    assert refused.status_code == 400
    assert "공유에 동의하지 않았습니다" in refused.content.decode()
    assert not Referral.objects.exists()
    people.record_consent(cw, person, purpose="sharing", granted=True, method="written")
    sent = client.post(
        f"/cases/{case.code}/referrals",
        {"to_organisation": "beta", "consent_basis": "person_consent"},
        follow=True,
    )
    assert sent.status_code == 200 and "의뢰를 보냈습니다" in sent.content.decode()
    referral = Referral.objects.get()
    assert referral.code in sent.content.decode()
    # The receiver: the referral is listed, the case and the person are not visible yet.
    login(client, outsider)
    assert client.get(f"/cases/{case.code}/").status_code == 404
    assert client.get(f"/people/{person.code}/").status_code == 404
    listing = client.get("/cases/referrals").content.decode()
    assert referral.code in listing and "우리에게 의뢰된 사례" in listing
    accepted = client.post(f"/cases/referrals/{referral.code}/accept", {"reason": ""})
    assert accepted.status_code == 302 and accepted["Location"] == f"/cases/{case.code}/"
    assert client.get(f"/cases/{case.code}/").status_code == 200
    assert client.get(f"/people/{person.code}/").status_code == 200
    grant = SharingGrant.objects.get(person=person, to_organisation_id=beta)
    assert grant.revoked_at is None and grant.granted_by == cw
    referral.refresh_from_db()
    assert referral.state == "accepted" and referral.grant_id == grant.pk
    assert _orgs("case.referral_accept", case.code) == {alpha, beta}
    assert _orgs("person.share", person.code) == {alpha, beta}
    # Read-only: the receiver cannot change the person.
    with pytest.raises(people.ReadOnlyAccess):
        people.update_person(outsider, person, birth_year=1980)
    # The sender's outgoing list shows it accepted.
    login(client, cw)
    assert "수락됨" in client.get("/cases/referrals").content.decode()


def test_a_declined_referral_needs_a_reason_and_grants_nothing(client, login, staff, case, person):
    cw, outsider = staff["caseworker"], staff["outsider"]
    referral = services.propose_referral(
        cw,
        case.code,
        to_organisation="beta",
        consent_basis="family_consent",
        consent_note="딸이 2026-03-01 전화로 동의",
    )
    login(client, outsider)
    url = f"/cases/referrals/{referral.code}/decline"
    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 400 and "거절하는 이유" in refused.content.decode()
    assert Referral.objects.get().state == "proposed"
    assert client.post(url, {"reason": "담당 지역 밖"}).status_code == 302
    referral.refresh_from_db()
    assert referral.state == "declined" and referral.decision_reason == "담당 지역 밖"
    assert not SharingGrant.objects.exists() and referral.grant_id is None
    assert client.get(f"/cases/{case.code}/").status_code == 404
    assert client.get(f"/people/{person.code}/").status_code == 404
    assert _orgs("case.referral_decline", case.code) == {
        cw.organisation_id,
        outsider.organisation_id,
    }
    assert not AuditEvent.objects.filter(action="person.share").exists()


def test_an_override_is_approved_by_a_supervisor_on_the_page(client, login, staff, case):
    cw, sup, outsider = staff["caseworker"], staff["supervisor"], staff["outsider"]
    login(client, cw)
    missing = client.post(
        f"/cases/{case.code}/referrals", {"to_organisation": "beta", "consent_basis": "override"}
    )
    assert missing.status_code == 400 and "예외 처리에는 사유" in missing.content.decode()
    client.post(
        f"/cases/{case.code}/referrals",
        {"to_organisation": "beta", "consent_basis": "override", "override_reason": "송환 임박"},
    )
    referral = Referral.objects.get()
    assert "승인할 예외 처리" not in client.get("/cases/referrals").content.decode()
    login(client, outsider)
    assert referral.code not in client.get("/cases/referrals").content.decode()
    login(client, sup)
    page = client.get("/cases/referrals").content.decode()
    assert "승인할 예외 처리" in page and referral.code in page
    assert client.post(f"/cases/referrals/{referral.code}/approve").status_code == 302
    assert Referral.objects.get().state == "approved"
    login(client, outsider)
    assert referral.code in client.get("/cases/referrals").content.decode()
    client.post(f"/cases/referrals/{referral.code}/accept", {"reason": "수용 가능"})
    assert Referral.objects.get().state == "accepted"
    assert SharingGrant.objects.filter(to_organisation_id=outsider.organisation_id).exists()


def test_the_supervisor_overview_counts_by_status_and_age_and_links_the_list(
    client, login, staff, person
):
    cw, sup = staff["caseworker"], staff["supervisor"]
    now = timezone.now()
    ages = {"lt1d": timedelta(hours=2), "1to3d": timedelta(days=2), "gt30d": timedelta(days=40)}
    codes = {}
    for bucket, age in ages.items():
        c = services.open_case(cw, person.code, kind="missing")
        Case.objects.filter(pk=c.pk).update(created_at=now - age)
        codes[bucket] = c.code
    closed = services.open_case(cw, person.code, kind="missing")
    services.change_status(cw, closed.code, status="closed", reason="안전 확인")
    overview = services.supervisor_overview(sup, now=now)
    [row] = overview.by_age
    assert (row["status"], row["total"], row["lt1d"], row["1to3d"], row["gt30d"]) == (
        "reported",
        3,
        1,
        1,
        1,
    )
    assert overview.age_totals["3to7d"] == 0 and overview.page.total == 3
    login(client, cw)
    assert client.get("/cases/overview").status_code == 403
    login(client, sup)
    html = client.get("/cases/overview").content.decode()
    assert "상태와 경과 시간별" in html and "?status=reported&amp;age=1to3d" in html
    assert closed.code not in html
    one = client.get("/cases/overview?status=reported&age=1to3d").content.decode()
    assert codes["1to3d"] in one and codes["lt1d"] not in one and codes["gt30d"] not in one
    old = client.get("/cases/overview?age=gt30d").content.decode()
    assert codes["gt30d"] in old and codes["1to3d"] not in old
