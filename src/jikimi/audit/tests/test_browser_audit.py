"""The audit page passes the design system's checks (core/tests/browser.py `check_page`) with
enough rows for several pages and with filters applied, in Korean and English on a desktop and
on a phone; a refused filter value is shown under its field."""

from __future__ import annotations

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    PHONE,
    TWO_CASES,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    layout_problems,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS

CASES = TWO_CASES  # both languages and both sizes; ALL_CASES doubled the run time


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_the_audit_page_passes_the_page_checks(live_server, staff, browser, locale, viewport):
    from jikimi.audit import services as audit
    from jikimi.conftest import PASSWORD
    from jikimi.people.services import create_person, get_person

    worker = staff["caseworker"]
    people = [create_person(worker, name=f"시험{n}", birth_year=1970 + n) for n in range(4)]
    for n in range(130):
        get_person(worker, people[n % 4].code)
    audit.record("people.list", actor=worker, object_type="person",
                 detail={"codes": [p.code for p in people] * 5})  # fmt: skip
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["auditor"], PASSWORD, next_path="/audit/")

    assert page.locator("table.audit tbody tr").count() == audit.PER_PAGE
    assert page.locator(".pager a[rel=next]").is_visible()
    check_page(page, problems, shot=f"audit-log-{tag}")

    page.click(".pager a[rel=next]")
    page.wait_for_url("**page=2")
    assert page.locator(".pager a[rel=prev]").is_visible()
    check_page(page, problems, shot=f"audit-page2-{tag}")

    # Filters: one person, one action.
    page.fill("#id_ref", people[1].code)
    page.select_option("#id_action", "person.read")
    page.click("form.audit-filters button[type=submit]")
    page.wait_for_url("**ref=*")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 33  # every fourth of the 130 reads
    assert set(page.locator("table.audit .action-code").all_inner_texts()) == {"person.read"}
    check_page(page, problems, shot=f"audit-filtered-{tag}")

    # A date that is no date: refused under its field, nothing filtered (a 400 answer).
    page.goto(f"{base}/audit/?date_from=2026-02-31&actor=system")
    error = page.locator("#id_date_from-error").inner_text()
    assert ("From:" in error) if locale.startswith("en") else ("시작일:" in error)
    assert not layout_problems(page)
    # The refusal is a 400 answer on purpose; nothing else may have failed.
    problems[:] = [
        p for p in problems if "/audit/?date_from=" not in p and "status of 400" not in p
    ]
    check_page(page, problems, shot=f"audit-refused-{tag}")
    page.context.close()
