"""The people pages and the sign-in page pass the design system's checks (core/tests/browser.py
`check_page`: no console error, no text out of its box, no number or code broken over two
lines, no serious axe violation) in Korean and English, on a desktop and on a phone."""

from __future__ import annotations

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

CASES = TWO_CASES


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_people_pages_pass_the_page_checks(live_server, staff, browser, locale, viewport):
    from jikimi.conftest import PASSWORD
    from jikimi.people.services import add_identity, create_person

    worker = staff["caseworker"]
    person = create_person(worker, name="박성철", birth_year=1975, province="KP-10")
    add_identity(worker, person, kind="name", value="Pak Song Chol", name_kind="alias")
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    page.goto(f"{base}/accounts/login")
    check_page(page, problems, shot=f"pages-login-{tag}")
    sign_in(page, base, worker, PASSWORD)
    for path, name in [
        ("/people/", "people-list"),
        (f"/people/{person.code}/", "person"),
        ("/people/new", "person-new"),
        ("/accounts/me", "account"),
    ]:
        page.goto(base + path)
        check_page(page, problems, shot=f"pages-{name}-{tag}")
    # A search with one typing error: the person is listed under the close matches.
    page.goto(base + "/people/")
    page.fill("#id_q", "Pak Sogn Chol")
    page.locator("#results [data-results=close]").wait_for(timeout=10_000)
    assert person.code in page.locator("#results [data-results=close]").inner_text()
    check_page(page, problems, shot=f"pages-people-close-matches-{tag}")
