"""The demo login page's account table (what to look at with each account) passes the design
system's checks in Korean on a desktop and in English and Korean on a phone."""

from __future__ import annotations

import pytest
from django.test import override_settings

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
)

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    ("locale", "viewport", "tag"),
    [("ko-KR", DESKTOP, "ko-desktop"), ("en-GB", PHONE, "en-phone"), ("ko-KR", PHONE, "ko-phone")],
)
def test_the_demo_accounts_table_fits_and_reads(live_server, browser, locale, viewport, tag):
    from jikimi.accounts.services import create_staff, ensure_organisation

    hanbit, other = ensure_organisation("hanbit"), ensure_organisation("saebyeok")
    for username, org, role in (
        ("demo-admin", hanbit, "admin"),
        ("demo-supervisor", hanbit, "supervisor"),
        ("demo-caseworker", hanbit, "caseworker"),
        ("demo-analyst", hanbit, "analyst"),
        ("demo-auditor", hanbit, "auditor"),
        ("demo-caseworker2", other, "caseworker"),
    ):
        create_staff(username, "jikimi-demo-password", org, role)
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    with override_settings(DEMO=True):
        page.goto(f"{live_server.url}/accounts/login")
        check_page(page, problems, shot=f"demo-login-{tag}")
    assert page.locator("tbody[data-account] .demo-shows").count() == 6
    # Each account's code is on screen, not scrolled out of the card.
    width = page.viewport_size["width"]
    for box in page.locator("code.otp").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().right)"
    ):
        assert box <= width
    assert problems == []
