"""The incident pages in a real browser: a case worker records an event (in Korean) with two
acts, a perpetrator and a graded source, then finds it again by the place's Chinese name; the
list, the form (also refused), the event, a person's acts and the vocabulary and gazetteer
administration pass the design system's checks (console, CSP, layout, axe) in Korean on a
desktop and in English on a phone (both languages, both sizes, as the other long page tests)."""

from __future__ import annotations

import re

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


def test_a_case_worker_records_an_event_and_finds_it_by_the_chinese_name(
    live_server, staff, browser
):
    from jikimi.conftest import PASSWORD
    from jikimi.incidents.models import Event, Information, Involvement
    from jikimi.people.services import create_person

    worker = staff["caseworker"]
    known = create_person(worker, name="이지현", birth_year=1988, sex="F")
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale="ko-KR")
    sign_in(page, base, worker, PASSWORD)

    page.goto(f"{base}/incidents/new")
    assert page.locator("h1").inner_text() == "사건 기록하기"
    page.fill("#id_title", "두만강 다리 근처 체포")
    page.fill("#id_date", "2018-06")
    page.fill("#id_place", "투먼")
    page.fill("#id_act-0-victim_name", "Choe Myong-hui")
    page.fill("#id_act-0-victim_name_hangul", "최명희")
    page.fill("#id_act-0-victim_birth_date", "1961")
    page.select_option("#id_act-0-victim_sex", "F")
    page.select_option("#id_act-0-act_type", "arrest")
    page.select_option("#id_act-0-perpetrator", "chinese_public_security_bureau")
    page.select_option("#id_act-0-involvement", "carried_out")
    page.fill("#id_act-1-victim_code", known.code)
    page.select_option("#id_act-1-act_type", "forced_repatriation")
    page.select_option("#id_act-1-perpetrator", "chinese_public_security_bureau")
    # htmx adds a fourth row in place (the form is not submitted).
    page.click("#add-act button")
    page.wait_for_selector("#id_act-3-act_type")
    assert page.url.endswith("/incidents/new") and Event.objects.count() == 0
    page.select_option("#id_source_kind", "family_report")
    page.select_option("#id_source_reliability", "B")
    page.select_option("#id_information_credibility", "2")
    check_page(page, problems, shot="incidents-new-filled-ko-desktop")
    page.click("form.event-form .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r".*/incidents/E-[0-9A-Z-]+$"))

    event = Event.objects.get()
    assert event.acts.count() == 2 and event.place.code == "cn-tumen"
    assert {i.perpetrator.code for i in Involvement.objects.all()} == {
        "chinese_public_security_bureau"
    }
    assert {(i.reliability, i.credibility) for i in Information.objects.all()} == {("B", "2")}
    body = page.locator("main").inner_text()
    assert "두만강 다리 근처 체포" in body and "투먼" in body and "B2" in body
    check_page(page, problems, shot="incidents-detail-journey-ko-desktop")

    page.goto(f"{base}/incidents/")
    page.fill("#id_place", "图们")
    page.click("form[action='/incidents/'] .form-actions button[type=submit]")
    page.wait_for_url(re.compile(r".*place=.*"))
    assert page.locator(f"a[href='/incidents/{event.code}']").count() == 2
    assert "이지현" in page.locator("table.acts").inner_text()
    check_page(page, problems, shot="incidents-list-found-ko-desktop")
    page.fill("#id_place", "혜산")
    page.click("form[action='/incidents/'] .form-actions button[type=submit]")
    page.wait_for_selector(".empty-state")
    assert page.locator(f"a[href='/incidents/{event.code}']").count() == 0


@pytest.fixture
def recorded(staff):
    """An event of two acts recorded through the service (a new victim and a known one)."""
    from jikimi.incidents import services
    from jikimi.people.services import create_person

    worker = staff["caseworker"]
    known = create_person(worker, name="박성철", birth_year=1975, province="KP-10")
    source = {"source": "family_report", "source_reliability": "C", "information_credibility": "3"}
    perpetrator = {"perpetrator": "state_security_department", "involvement": "ordered"}
    event = services.record_event(
        worker,
        title="어머니에게 아들에게 전화하도록 강요",
        description="요원들이 집에 찾아와 통화 내내 옆에 서 있었다",
        date="2018-05-14/2018-05-20",
        date_approx=True,
        place="혜산시",
        acts=[
            {
                "act_type": "coerced_family_contact",
                "victim": {"name": "Choe Myong-hui", "name_hangul": "최명희", "sex": "F"},
                "involvements": [perpetrator],
                "information": [source],
            },
            {
                "act_type": "coerced_family_contact",
                "victim": known.code,
                "involvements": [perpetrator],
                "information": [source],
            },
        ],
    )
    return event, known


@pytest.mark.parametrize(("locale", "viewport"), TWO_CASES)
def test_the_incident_pages_pass_the_page_checks(
    live_server, staff, browser, recorded, locale, viewport
):
    from jikimi.conftest import PASSWORD

    event, known = recorded
    from jikimi.incidents import services

    other = staff["outsider"].organisation
    services.share_event(staff["caseworker"], event, other, "joint urgent appeal")
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    # An administrator: records like a case worker, and has the vocabularies, places and
    # the events shared with other organisations.
    sign_in(page, base, staff["admin"], PASSWORD)
    for path, name in [
        ("/admin/vocabularies/?v=perpetrator", "admin-vocabularies"),
        ("/admin/places/", "admin-places"),
        ("/admin/event-grants/", "admin-event-grants"),
        ("/incidents/", "list"),
        ("/incidents/?place=%E6%83%A0%E5%B1%B1&within_km=50", "list-filtered"),
        ("/incidents/new", "new"),
        (f"/incidents/{event.code}", "detail"),
        (f"/incidents/person/{known.code}", "person"),
    ]:
        page.goto(base + path)
        check_page(page, problems, shot=f"incidents-{name}-{tag}")
    # A refused form: the errors at their fields pass the checks too.
    page.goto(base + "/incidents/new")
    page.fill("#id_title", "x")
    page.fill("#id_date", "2017-13")
    page.fill("#id_place", "Tumenn")
    page.click("form.event-form .form-actions button[type=submit]")
    page.wait_for_selector(".field-error")
    assert page.locator(".has-error #id_date").count() == 1
    assert "Tumen" in page.locator("#id_place ~ .field-error").inner_text()
    # The refusal is a 400 answer on purpose (Chromium logs it); nothing else may have failed.
    problems[:] = [p for p in problems if "status of 400" not in p]
    check_page(page, problems, shot=f"incidents-new-errors-{tag}")
