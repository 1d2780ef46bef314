"""The case pages in a real browser (issue #15): a case worker opens a case from an arrest
act (in Korean), logs a family contact, and sees the case's review deadline on the alert
board once it has passed and the monitor ran; the case pages pass the design system's checks
(console, CSP, layout, axe) in Korean on a desktop and in English on a phone."""

from __future__ import annotations

import datetime as dt

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
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
