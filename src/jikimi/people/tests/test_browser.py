"""End to end in a real Chromium: sign in with password and TOTP, create a person with a
Hangul name, find them by a romanised name through the live htmx search, add the alias they
used in China, and see the audit entry as an auditor. Screenshots go to bench/out/ui/.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/people/tests/test_browser.py
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    SHOTS,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


@pytest.fixture(autouse=True)
def _static_dirs(settings):
    # src/jikimi/static is the project's own static folder (not an app's), so it needs
    # STATICFILES_DIRS; test_views_pages checks the setting itself. This keeps the journey
    # testable if the setting is missing.
    folder = settings.BASE_DIR / "static"
    if folder not in [Path(p) for p in getattr(settings, "STATICFILES_DIRS", [])]:
        settings.STATICFILES_DIRS = [*getattr(settings, "STATICFILES_DIRS", []), folder]


def test_it_runs_the_case_worker_journey_in_a_browser(live_server, staff, browser):
    from jikimi.conftest import PASSWORD
    from jikimi.people.services import create_person

    other = create_person(staff["caseworker"], name="김영희", birth_year=1990)
    base = live_server.url
    problems: list[str] = []

    page = new_page(browser, problems)
    page.goto(f"{base}/accounts/login")
    assert page.locator("html").get_attribute("lang") == "ko"
    page.screenshot(path=str(SHOTS / "01-login.png"), full_page=True)
    sign_in(page, base, staff["caseworker"], PASSWORD)

    # Create a person with a Hangul name.
    page.click("a[href='/people/new']")
    page.fill("input[name=name]", "박성철")
    page.select_option("select[name=name_kind]", "nk_birth")
    page.fill("input[name=birth_year]", "1975")
    page.select_option("select[name=sex]", "M")
    page.select_option("select[name=province]", "KP-10")
    page.fill("input[name=defection_year]", "2009")
    page.screenshot(path=str(SHOTS / "02-new-person.png"), full_page=True)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/people/P-[2-9A-Z]{4}-[2-9A-Z]{4}/$"))
    code = page.url.rstrip("/").rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == "박성철"

    # Find them from a romanised spelling with the live (htmx) search: no submit click.
    page.goto(f"{base}/people/")
    page.locator("#id_q").press_sequentially("Pak Song Chol", delay=20)
    page.locator("#results [data-results=search]").wait_for(timeout=10_000)
    result = page.locator(f"#results a.code:has-text('{code}')")
    results = page.locator("#results").inner_text()
    assert "박성철" in results and other.code not in results
    assert "Pak" not in page.url  # the search never goes into the URL
    page.screenshot(path=str(SHOTS / "03-search.png"), full_page=True)
    result.click()
    page.wait_for_url(re.compile(rf".*/people/{code}/$"))

    # Add the alias used in China.
    page.click("#ident-title ~ details summary")
    page.select_option("select[name=kind]", "name")
    page.select_option("select[name=name_kind]", "cn_alias")
    page.fill("input[name=value]", "朴成哲")
    page.click("form[action$='/identities'] button[type=submit]")
    page.wait_for_url(re.compile(rf".*/people/{code}/$"))
    assert "朴成哲" in page.locator("#ident-title + table").inner_text()
    page.screenshot(path=str(SHOTS / "04-detail.png"), full_page=True)
    page.context.close()

    # The auditor sees the alias being added (and no names).
    page = new_page(browser, problems)
    sign_in(page, base, staff["auditor"], PASSWORD)
    page.goto(f"{base}/audit/?ref={code}")
    events = page.locator("table.audit").inner_text()
    assert "identity.create" in events and "person.create" in events
    assert "박성철" not in page.content() and "朴成哲" not in page.content()
    page.click("form.verify button[type=submit]")
    page.locator("p.ok").wait_for()
    page.screenshot(path=str(SHOTS / "05-audit.png"), full_page=True)

    # English through the language switch (auto-submits on change, via jikimi.js).
    page.select_option("#lang-select", "en")
    page.wait_for_selector("html[lang=en]", state="attached")
    assert "Audit log" in page.locator("h1").inner_text()
    page.context.close()

    assert not problems, problems


@pytest.mark.parametrize(
    ("locale", "viewport", "expected"),
    [
        ("ko-KR", {"width": 1280, "height": 900}, "대상자 코드(예: P-7KQ2-M9XD)로만"),
        ("en-GB", {"width": 390, "height": 844}, "person code only"),
    ],
)
def test_an_analyst_searching_by_name_is_told_to_use_a_code(
    live_server, staff, browser, locale, viewport, expected
):
    """Issue 12.2 in the page: the refusal is on the field, in the reader's language."""
    from jikimi.conftest import PASSWORD
    from jikimi.people.services import create_person

    person = create_person(staff["caseworker"], name="이지현", birth_year=1990)
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, live_server.url, staff["analyst"], PASSWORD)
    page.fill("#id_q", "Lee Ji-hyun")
    page.wait_for_selector("#results .field-error")
    assert expected in page.locator("#results .field-error").inner_text()
    assert person.code not in page.locator("#results").inner_text()
    assert page.locator("#results .empty").count() == 0  # not "nobody matches": refused
    page.screenshot(path=str(SHOTS / f"analyst-search-{locale}.png"), full_page=True)
    page.fill("#id_q", person.code)
    page.wait_for_selector(f"#results >> text={person.code}")
    assert not problems, problems
