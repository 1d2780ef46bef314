"""The case pages: my cases with filters, the case page, its status and contact forms
(Korean by default), 404 across organisations."""

from __future__ import annotations

import pytest

from jikimi.cases.models import Case, FamilyContact

pytestmark = pytest.mark.django_db


def test_my_cases_and_the_case_page_in_korean(client, login, staff, case):
    login(client, staff["caseworker"])
    page = client.get("/cases/?status=reported")
    assert page.status_code == 200
    html = page.content.decode()
    assert case.code in html and "내 사례" in html
    assert client.get("/cases/?status=detained").content.decode().count(case.code) == 0
    html = client.get(f"/cases/{case.code}/").content.decode()
    assert "상태 이력" in html and "리영호" in html and "도문" in html


def test_the_status_form_refuses_no_reason_and_sets_the_review_deadline(client, login, staff, case):
    login(client, staff["caseworker"])
    url = f"/cases/{case.code}/status"
    refused = client.post(url, {"status": "detained", "reason": "", "version": 1})
    assert refused.status_code == 400 and "사유" in refused.content.decode()
    assert Case.objects.get(pk=case.pk).status == "reported"
    done = client.post(
        url, {"status": "detained", "reason": "구금 확인", "version": 1}, follow=True
    )
    assert done.status_code == 200 and "72" in done.content.decode()
    assert Case.objects.get(pk=case.pk).status == "detained"
    stale = client.post(url, {"status": "released", "reason": "석방", "version": 1}, follow=True)
    assert "다른 사람" in stale.content.decode()
    assert Case.objects.get(pk=case.pk).status == "detained"


def test_the_contact_form_records_a_contact(client, login, staff, case):
    login(client, staff["caseworker"])
    answer = client.post(
        f"/cases/{case.code}/contacts",
        {"how": "phone", "what_was_told": "담당자 배정", "can_be_told": "확인 중"},
    )
    assert answer.status_code == 302
    assert FamilyContact.objects.get(case=case).what_was_told == "담당자 배정"


def test_another_organisation_gets_404(client, login, staff, case):
    login(client, staff["outsider"])
    assert client.get(f"/cases/{case.code}/").status_code == 404
    assert client.post(f"/cases/{case.code}/status", {"status": "released"}).status_code == 404


def test_a_case_is_opened_from_an_arrest_act_with_its_review_deadline(client, login, staff):
    from jikimi.cases.models import Deadline
    from jikimi.incidents import services as incidents
    from jikimi.people import services as people

    worker = staff["caseworker"]
    victim = people.create_person(worker, name="Synthetic Detainee")
    event = incidents.record_event(
        worker,
        title="Arrest after crossing",
        date="2017-07-15",
        place="Tumen",
        acts=[{"act_type": "arrest", "victim": victim.code}],
    )
    login(client, worker)
    detail = client.get(f"/incidents/{event.code}").content.decode()
    link = f"/cases/new?person={victim.code}&amp;event={event.code}&amp;act_type=arrest"
    assert link in detail  # the act's row offers it
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert 'value="detained" selected' in form and f"incident {event.code}" in form

    refused = client.post(
        "/cases/new", {"person": "P-NOPE-NOPE", "kind": "detained", "status": "detained"}
    )
    assert refused.status_code == 400 and "id_person-error" in refused.content.decode()
    assert not Case.objects.exists()

    done = client.post(
        "/cases/new",
        {
            "person": victim.code,
            "kind": "detained",
            "status": "detained",
            "priority": "0",
            "source_ref": f"incident {event.code}",
        },
    )
    case = Case.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/cases/{case.code}/"
    assert (case.person_id, case.status, case.priority) == (victim.pk, "detained", 0)
    assert case.source_ref == f"incident {event.code}"
    assert Deadline.objects.filter(case=case).count() == 1  # the 72-hour review


def test_another_organisation_cannot_open_a_case_for_our_person(client, login, staff, case):
    login(client, staff["outsider"])
    refused = client.post(
        "/cases/new", {"person": case.person.code, "kind": "missing", "status": "reported"}
    )
    assert refused.status_code == 400 and "id_person-error" in refused.content.decode()
    assert Case.objects.count() == 1


def test_the_case_policy_form_asks_for_the_password_again(client, login, staff, case):
    """DESIGN §3: changing an escalation policy is a sensitive action. Without the password
    (or with a wrong one) the form answers 400 at the password field and nothing changes;
    with it the policy is set and audited."""
    from django.urls import reverse

    from jikimi.alerts import services as alerts
    from jikimi.audit.models import AuditEvent
    from jikimi.conftest import PASSWORD

    sup = staff["supervisor"]
    policy = alerts.create_policy(
        sup, name="검토: 즉시", steps=[{"after_minutes": 0, "to": "supervisors"}]
    )
    login(client, sup)
    page = client.get(f"/cases/{case.code}/").content.decode()
    assert 'id="id_policy_password"' in page  # asked for in the form
    url = reverse("cases:set_policy", args=[case.code])
    for password in ("", "wrong password"):
        refused = client.post(url, {"escalation_policy": policy.pk, "password": password})
        assert refused.status_code == 400
        assert 'id="err_policy_password"' in refused.content.decode()
        case.refresh_from_db()
        assert case.escalation_policy_id is None
    assert not AuditEvent.objects.filter(action="case.policy").exists()
    done = client.post(url, {"escalation_policy": policy.pk, "password": PASSWORD})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.escalation_policy_id == policy.pk
    assert AuditEvent.objects.filter(action="case.policy", object_ref=case.code).exists()
    # Within the next minutes the form does not ask again.
    assert 'id="id_policy_password"' not in client.get(f"/cases/{case.code}/").content.decode()
