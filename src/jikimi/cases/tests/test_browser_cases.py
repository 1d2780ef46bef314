"""The case pages in a real browser (issue #15): a case worker opens a case from an arrest
act (in Korean), logs a family contact, and sees the case's review deadline on the alert
board once it has passed and the monitor ran; the case pages pass the design system's checks
(console, CSP, layout, axe) in Korean on a desktop and in English on a phone."""

from __future__ import annotations

import datetime as dt

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    TWO_CASES,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


@pytest.fixture
def arrest(staff):
    from jikimi.incidents import services as incidents
    from jikimi.people import services as people

    worker = staff["caseworker"]
    victim = people.create_person(worker, name="리철준", birth_year=1987, sex="M")
    event = incidents.record_event(
        worker,
        title="두만강 다리 근처 체포",
        date="2018-06",
        place="투먼",
        acts=[{"act_type": "arrest", "victim": victim.code}],
    )
    return event, victim


def test_a_case_opened_from_an_arrest_reaches_the_board_when_its_review_passes(
    live_server, staff, browser, arrest
):
    from django.utils import timezone

    from jikimi.cases.models import Case, Deadline, FamilyContact
    from jikimi.conftest import PASSWORD
    from jikimi.core.monitor import run_passes

    event, victim = arrest
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale="ko-KR")
    sign_in(page, base, staff["caseworker"], PASSWORD)

    page.goto(f"{base}/incidents/{event.code}")
    page.click("a.open-case")
    page.wait_for_selector("#id_person")
    assert page.locator("h1").inner_text() == "사례 열기"
    assert page.input_value("#id_person") == victim.code
    assert page.input_value("#id_kind") == "detained"
    check_page(page, problems, shot="cases-new-ko-desktop")
    page.click("form .form-actions button[type=submit]")
    page.wait_for_url(f"{base}/cases/C-*/")
    case = Case.objects.get()
    assert (case.person_id, case.status) == (victim.pk, "detained")

    page.select_option("#id_how", "phone")
    page.fill("#id_what_was_told", "중국 공안에 구금된 것을 확인했고 변호사를 찾고 있다고 알림")
    page.fill("#id_can_be_told", "확인 중입니다")
    page.click("form[action$='/contacts'] button[type=submit]")
    page.wait_for_selector(".messages li.success")
    assert FamilyContact.objects.filter(case=case).count() == 1
    assert "확인 중입니다" in page.content()
    check_page(page, problems, shot="cases-case-ko-desktop")

    # The 72-hour review passes (moved to the past here), the monitor runs: the board has it.
    Deadline.objects.filter(case=case).update(due_at=timezone.now() - dt.timedelta(minutes=1))
    run_passes({}, skip=frozenset({"notify.deliver", "estimates.jobs"}))
    page.goto(f"{base}/checkins/")
    board = page.locator("main").inner_text()
    assert "기한" in board and victim.code in page.content(), board
    check_page(page, problems, shot="cases-board-ko-desktop")
    assert problems == []


@pytest.mark.parametrize(("locale", "viewport"), TWO_CASES)
def test_the_case_pages_pass_the_page_checks(live_server, staff, browser, arrest, locale, viewport):
    from jikimi.cases import services as cases
    from jikimi.conftest import PASSWORD

    event, victim = arrest
    case = cases.open_case(staff["caseworker"], victim.code, kind="detained", status="detained")
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["caseworker"], PASSWORD)
    for path, name in [
        ("/cases/", "list"),
        (f"/cases/{case.code}/", "case"),
        (f"/cases/new?person={victim.code}", "new"),
        (f"/cases/{case.code}/un-draft", "un-draft"),
    ]:
        page.goto(base + path)
        check_page(page, problems, shot=f"cases-{name}-{tag}")
    # A refused form: the error at its field passes the checks too.
    page.goto(base + "/cases/new")
    page.click("form .form-actions button[type=submit]")
    page.wait_for_selector(".field-error")
    problems[:] = [p for p in problems if "status of 400" not in p]
    check_page(page, problems, shot=f"cases-new-errors-{tag}")
    assert problems == []


KOREAN_BOTH = [
    pytest.param("ko-KR", DESKTOP, id="ko-desktop"),
    pytest.param("ko-KR", PHONE, id="ko-phone"),
]


@pytest.mark.parametrize(("locale", "viewport"), KOREAN_BOTH)
def test_a_referral_is_proposed_approved_accepted_and_the_overview_shows_the_cases(
    live_server, staff, browser, arrest, locale, viewport
):
    """Korean, desktop and phone: a refused referral names its field, an override waits for
    the supervisor's button, the receiver accepts and then sees the case; the supervisor's
    overview links each count to its list. Every page passes the page checks."""
    from jikimi.cases import services as cases
    from jikimi.cases.models import Referral
    from jikimi.conftest import PASSWORD

    event, victim = arrest
    case = cases.open_case(staff["caseworker"], victim.code, kind="detained", status="detained")
    base = live_server.url
    tag = "phone" if viewport is PHONE else "desktop"
    problems: list[str] = []

    worker = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(worker, base, staff["caseworker"], PASSWORD)
    worker.goto(f"{base}/cases/{case.code}/")
    worker.select_option("#id_to_organisation", "beta")
    worker.select_option("#id_consent_basis", "override")
    worker.click("form[action$='/referrals'] button[type=submit]")
    worker.wait_for_selector("#err_override_reason")
    assert "예외 처리에는 사유" in worker.inner_text("#err_override_reason")
    problems[:] = [p for p in problems if "status of 400" not in p]
    check_page(worker, problems, shot=f"cases-refer-errors-ko-{tag}")
    worker.fill("#id_override_reason", "본인·가족 모두 연락 불가, 송환 임박")
    worker.click("form[action$='/referrals'] button[type=submit]")
    worker.wait_for_selector(".messages li.warning")
    referral = Referral.objects.get()
    assert "관리자 승인 대기" in worker.inner_text("#referrals-title + *")
    check_page(worker, problems, shot=f"cases-case-referral-ko-{tag}")

    supervisor = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(supervisor, base, staff["supervisor"], PASSWORD)
    supervisor.goto(f"{base}/cases/referrals")
    assert referral.code in supervisor.inner_text("main")
    check_page(supervisor, problems, shot=f"cases-referrals-approve-ko-{tag}")
    supervisor.click(f"form[action$='/{referral.code}/approve'] button")
    supervisor.wait_for_selector(".messages li.success")

    receiver = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(receiver, base, staff["outsider"], PASSWORD)
    assert receiver.goto(f"{base}/cases/{case.code}/").status == 404
    receiver.goto(f"{base}/cases/referrals")
    problems[:] = [p for p in problems if not p.startswith("404 ") and "status of 404" not in p]
    check_page(receiver, problems, shot=f"cases-referrals-incoming-ko-{tag}")
    receiver.click(f"form[action$='/{referral.code}/decline'] button.secondary")
    receiver.wait_for_selector(".field-error")
    assert "거절하는 이유" in receiver.inner_text(".field-error")
    problems[:] = [p for p in problems if "status of 400" not in p]
    check_page(receiver, problems, shot=f"cases-referrals-errors-ko-{tag}")
    receiver.click(f"button[formaction$='/{referral.code}/accept']")
    receiver.wait_for_url(f"{base}/cases/{case.code}/")
    assert victim.code in receiver.inner_text("main")
    Referral.objects.get(state="accepted")

    supervisor.goto(f"{base}/cases/overview")
    check_page(supervisor, problems, shot=f"cases-overview-ko-{tag}")
    supervisor.click("a[href='?status=detained&age=lt1d#list-title']")
    supervisor.wait_for_url("**age=lt1d**")
    assert case.code in supervisor.inner_text("#list-title ~ .table-wrap")
    check_page(supervisor, problems, shot=f"cases-overview-filtered-ko-{tag}")
    assert problems == []


@pytest.mark.parametrize(("locale", "viewport"), TWO_CASES)
def test_the_kind_policy_page_passes_the_page_checks_and_saves_with_the_password(
    live_server, staff, browser, locale, viewport
):
    """From the overview to the escalation policy by kind: a save without the password is
    refused at its field, with it the kind's policy is saved; each state passes the checks."""
    from jikimi.alerts import services as alerts
    from jikimi.cases.models import KindPolicy
    from jikimi.conftest import PASSWORD

    policy = alerts.create_policy(
        staff["supervisor"],
        name="Detention: supervisors after 1 hour",
        steps=[
            {"after_minutes": 0, "to": "caseworker"},
            {"after_minutes": 60, "to": "supervisors"},
        ],
        repeat_minutes=60,
    )
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["supervisor"], PASSWORD)
    page.goto(f"{base}/cases/overview")
    page.click("a[href='/cases/policies']")
    page.wait_for_selector("#id_policy_detained")
    check_page(page, problems, shot=f"cases-kind-policies-{tag}")
    page.select_option("#id_policy_detained", str(policy.pk))
    page.click("form .form-actions button[type=submit]")
    page.wait_for_selector("#err_password")
    problems[:] = [p for p in problems if "status of 400" not in p]
    check_page(page, problems, shot=f"cases-kind-policies-errors-{tag}")
    assert not KindPolicy.objects.exists()
    page.select_option("#id_policy_detained", str(policy.pk))
    page.fill("#id_password", PASSWORD)
    page.click("form .form-actions button[type=submit]")
    page.wait_for_selector(".messages li.success")
    assert KindPolicy.objects.get().policy_id == policy.pk
    assert page.input_value("#id_policy_detained") == str(policy.pk)
    check_page(page, problems, shot=f"cases-kind-policies-saved-{tag}")
    assert problems == []
