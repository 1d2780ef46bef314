"""Cases services: access across organisations, status history and its rules, the
optimistic lock, deadlines, contacts, referrals and the work lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jikimi.audit.models import AuditEvent
from jikimi.cases import services
from jikimi.cases.models import Case, Deadline, DeadlineSource, Referral, StatusChange
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


def test_it_opens_a_case_with_its_first_status_and_encrypted_notes(staff, case):
    assert case.code.startswith("C-") and case.version == 1
    assert case.responsible == staff["caseworker"]
    [change] = StatusChange.objects.filter(case=case)
    assert (change.from_status, change.to_status) == ("", "reported")
    with connection.cursor() as cur:
        cur.execute("SELECT notes FROM cases_case WHERE id = %s", [case.pk.hex])
        stored = cur.fetchone()
    if stored is None:  # PostgreSQL stores the uuid as uuid
        with connection.cursor() as cur:
            cur.execute("SELECT notes FROM cases_case WHERE id = %s", [str(case.pk)])
            stored = cur.fetchone()
    assert "도문" not in stored[0]
    assert Case.objects.get(pk=case.pk).notes == "구금 장소: 도문 변방구류소"
    assert AuditEvent.objects.filter(action="case.open", object_ref=case.code).exists()


def test_another_organisations_case_is_not_found_and_audited(staff, case):
    with pytest.raises(NotFound):
        services.get_case(staff["outsider"], case.code)
    with pytest.raises(NotFound):
        services.change_status(staff["outsider"], case.code, status="released", reason="x")
    assert AuditEvent.objects.filter(action="case.not_found", object_ref=case.code).exists()
    assert services.my_cases(staff["outsider"]).total == 0
    assert services.deadlines_this_week(staff["outsider"]).total == 0


def test_analysts_do_not_work_on_cases(staff, case):
    with pytest.raises(AccessDenied):
        services.get_case(staff["analyst"], case.code)


def test_a_status_change_without_a_reason_is_refused_and_nothing_changes(staff, case):
    with pytest.raises(InvalidInput) as exc:
        services.change_status(staff["caseworker"], case.code, status="detained", reason="  ")
    assert set(exc.value.errors) == {"reason"}
    case.refresh_from_db()
    assert case.status == "reported" and case.version == 1
    assert StatusChange.objects.filter(case=case).count() == 1
    assert not Deadline.objects.filter(case=case).exists()


@pytest.mark.parametrize(("status", "hours"), [("detained", 72), ("at_risk_of_repatriation", 24)])
def test_a_status_with_a_rule_proposes_its_review_deadline(staff, case, status, hours):
    before = timezone.now()
    result = services.change_status(
        staff["caseworker"], case.code, status=status, reason="공안 구금 확인"
    )
    [deadline] = result.deadlines
    assert deadline.set_by == DeadlineSource.RULE and deadline.kind == "review"
    assert before + timedelta(hours=hours) <= deadline.due_at
    assert deadline.due_at <= timezone.now() + timedelta(hours=hours)
    assert result.case.version == 2 and result.case.status == status
    change = StatusChange.objects.filter(case=case).order_by("-at").first()
    assert (change.from_status, change.to_status, change.reason) == (
        "reported",
        status,
        "공안 구금 확인",
    )


def test_a_status_without_a_rule_sets_no_deadline(staff, case):
    result = services.change_status(staff["caseworker"], case.code, status="located", reason="r")
    assert result.deadlines == []


def test_two_editors_with_the_same_version_the_second_is_told_and_nothing_overwritten(staff, case):
    first = services.update_case(
        staff["caseworker"], case.code, expected_version=1, notes="첫 번째 편집"
    )
    assert first.version == 2
    with pytest.raises(services.VersionConflict) as exc:
        services.update_case(
            staff["supervisor"], case.code, expected_version=1, notes="두 번째 편집"
        )
    assert exc.value.status_code == 409 and exc.value.current_version == 2
    stored = Case.objects.get(pk=case.pk)
    assert stored.notes == "첫 번째 편집" and stored.version == 2
    # A status change carrying the stale version is refused too.
    with pytest.raises(services.VersionConflict):
        services.change_status(
            staff["supervisor"], case.code, status="located", reason="r", expected_version=1
        )
    assert Case.objects.get(pk=case.pk).status == "reported"


def test_update_case_names_bad_fields(staff, case):
    with pytest.raises(InvalidInput) as exc:
        services.update_case(
            staff["caseworker"], case.code, expected_version=1, priority=9, responsible=10**6
        )
    assert set(exc.value.errors) == {"priority", "responsible"}
    with pytest.raises(InvalidInput) as exc:
        services.update_case(staff["caseworker"], case.code, expected_version="x")
    assert set(exc.value.errors) == {"version"}


def test_a_deadline_in_the_past_is_refused(staff, case):
    with pytest.raises(InvalidInput) as exc:
        services.add_deadline(
            staff["caseworker"], case.code, due_at=timezone.now() - timedelta(minutes=1)
        )
    assert set(exc.value.errors) == {"due_at"}
    assert not Deadline.objects.filter(case=case).exists()
    with pytest.raises(InvalidInput) as exc:
        services.add_deadline(staff["caseworker"], case.code, due_at="not a date")
    assert set(exc.value.errors) == {"due_at"}


def test_a_deadline_is_met_once(staff, case):
    deadline = services.add_deadline(
        staff["caseworker"], case.code, due_at=timezone.now() + timedelta(days=1), label="UNHCR"
    )
    services.meet_deadline(staff["caseworker"], deadline.pk)
    with pytest.raises(InvalidInput):
        services.cancel_deadline(staff["caseworker"], deadline.pk)
    with pytest.raises(NotFound):
        services.meet_deadline(staff["outsider"], deadline.pk)


def test_an_action_with_a_next_step_due_makes_a_deadline(staff, case):
    due = timezone.now() + timedelta(days=3)
    action = services.log_action(
        staff["caseworker"],
        case.code,
        channel="un_urgent_appeal",
        description="특별보고관에게 긴급 청원 제출",
        outcome="접수 확인",
        next_step="답변 확인",
        next_step_due=due,
    )
    assert action.next_step_deadline is not None and action.next_step_deadline.due_at == due
    with pytest.raises(InvalidInput) as exc:
        services.log_action(staff["caseworker"], case.code, channel="pigeon", description="")
    assert set(exc.value.errors) == {"channel", "description"}


def test_family_contacts_feed_the_14_day_list_and_meet_promised_contacts(staff, case):
    now = timezone.now()
    cw = staff["caseworker"]
    assert [c.code for c in services.no_family_contact_for(cw).rows] == [case.code]
    contact = services.log_family_contact(
        cw,
        case.code,
        how="phone",
        what_was_told="구금 사실을 알림",
        can_be_told="담당자가 확인 중입니다",
        at=now - timedelta(days=20),
        next_contact_at=now + timedelta(days=2),
    )
    assert contact.next_contact_deadline.kind == "family_contact"
    assert [c.code for c in services.no_family_contact_for(cw, days=14).rows] == [case.code]
    assert services.no_family_contact_for(cw, days=30).total == 0
    services.log_family_contact(cw, case.code, how="letter", what_was_told="진행 상황")
    assert services.no_family_contact_for(cw, days=14).total == 0
    with pytest.raises(InvalidInput) as exc:
        services.log_family_contact(cw, case.code, how="phone", what_was_told="")
    assert set(exc.value.errors) == {"what_was_told"}


def test_the_work_lists_page_and_filter(staff, person):
    cw = staff["caseworker"]
    codes = [services.open_case(cw, person.code, kind="missing").code for _ in range(5)]
    page = services.my_cases(cw, offset=1, limit=2)
    assert page.total == 5 and [c.code for c in page.rows] == codes[::-1][1:3]
    assert services.my_cases(cw, filters=services.CaseFilter(status="detained")).total == 0
    with pytest.raises(InvalidInput) as exc:
        services.my_cases(cw, filters=services.CaseFilter(status="nowhere"))
    assert set(exc.value.errors) == {"status"}
    services.change_status(cw, codes[0], status="detained", reason="r")
    assert services.deadlines_this_week(cw).total == 1
    overview = services.supervisor_overview(staff["supervisor"])
    assert {r["status"]: r["total"] for r in overview.by_status} == {"reported": 4, "detained": 1}
    assert overview.page.total == 5 and overview.page.rows[0].code == codes[0]
    with pytest.raises(AccessDenied):
        services.supervisor_overview(cw)


def test_a_referral_without_consent_is_refused_and_nothing_changes(staff, case):
    cw = staff["caseworker"]
    with pytest.raises(InvalidInput) as exc:
        services.propose_referral(
            cw, case.code, to_organisation="beta", consent_basis="person_consent"
        )
    assert set(exc.value.errors) == {"consent_basis"}
    with pytest.raises(InvalidInput) as exc:
        services.propose_referral(
            cw, case.code, to_organisation="beta", consent_basis="family_consent"
        )
    assert set(exc.value.errors) == {"consent_note"}
    with pytest.raises(InvalidInput) as exc:
        services.propose_referral(cw, case.code, to_organisation="beta", consent_basis="override")
    assert set(exc.value.errors) == {"override_reason"}
    assert not Referral.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="case.referral").exists()


def test_a_referral_with_consent_is_seen_by_the_receiver_only_once_accepted(staff, case, person):
    cw, outsider = staff["caseworker"], staff["outsider"]
    people.record_consent(cw, person, purpose="sharing", granted=True, method="written")
    referral = services.propose_referral(
        cw, case.code, to_organisation="beta", consent_basis="person_consent"
    )
    assert [r.code for r in services.incoming_referrals(outsider)] == [referral.code]
    with pytest.raises(NotFound):
        services.get_case(outsider, case.code)
    with pytest.raises(NotFound):  # the sender cannot accept for the receiver
        services.accept_referral(cw, referral.code)
    services.accept_referral(outsider, referral.code)
    assert services.get_case(outsider, case.code).pk == case.pk
    assert services.no_family_contact_for(outsider).total == 1
    alpha, beta = staff["caseworker"].organisation_id, outsider.organisation_id
    for action in ("case.referral_propose", "case.referral_accept"):
        orgs = set(
            AuditEvent.objects.filter(action=action, object_ref=case.code).values_list(
                "organisation_id", flat=True
            )
        )
        assert orgs == {alpha, beta}, action
    with pytest.raises(InvalidInput) as exc:
        services.decline_referral(outsider, referral.code, reason="이미 수락함")
    assert set(exc.value.errors) == {"state"}


def test_an_override_needs_another_supervisors_approval_before_the_receiver_decides(staff, case):
    cw, outsider, sup = staff["caseworker"], staff["outsider"], staff["supervisor"]
    referral = services.propose_referral(
        cw,
        case.code,
        to_organisation="beta",
        consent_basis="override",
        override_reason="본인과 가족 모두 연락 불가, 송환 임박",
    )
    assert services.incoming_referrals(outsider) == []
    with pytest.raises(NotFound):
        services.accept_referral(outsider, referral.code)
    with pytest.raises(AccessDenied):
        services.approve_override(cw, referral.code)
    services.approve_override(sup, referral.code)
    with pytest.raises(InvalidInput) as exc:  # a decline says why
        services.decline_referral(outsider, referral.code)
    assert set(exc.value.errors) == {"reason"}
    services.decline_referral(outsider, referral.code, reason="담당 인력 부족")
    with pytest.raises(NotFound):
        services.get_case(outsider, case.code)
