"""The API documentation page in a real Chromium under the strict CSP: Swagger UI starts
(no console error, no CSP violation), lists the operations, and passes the page checks in
Korean and English, on a desktop and on a phone. The favicon answers too."""

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

CASES = TWO_CASES  # both languages and both sizes; ALL_CASES doubled the run time


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_the_docs_page_shows_the_operations(live_server, staff, browser, locale, viewport):
    from jikimi.alerts.services import raise_alert
    from jikimi.conftest import PASSWORD

    alert = raise_alert(
        organisation_id=staff["supervisor"].organisation_id,
        kind="channel_failure",
        key="docs",
        detail={"channel_kind": "sms", "channel": "1"},
    )
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["supervisor"], PASSWORD, next_path="/api/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/people/" in [p.replace("\u200b", "") for p in paths]
    assert len(paths) > 20
    heading = "API 문서" if locale.startswith("ko") else "API documentation"
    assert page.locator(".pagehead h1").inner_text() == heading
    check_page(page, problems, shot=f"api-docs-{tag}")

    # One operation opened: its responses, error answers included.
    page.locator(".opblock-summary-path", has_text="/api/people/").first.click()
    page.wait_for_selector(".responses-table")
    codes = page.locator(".opblock.is-open .response-col_status").all_inner_texts()
    assert {"200", "401", "403"} <= {c.strip() for c in codes}
    check_page(page, problems, shot=f"api-docs-open-{tag}")

    # "Try it out" calls the API as the signed-in supervisor (session and CSRF token).
    page.locator(".opblock.is-open .try-out__btn").click()
    page.locator(".opblock.is-open .execute").click()
    live = ".opblock.is-open .live-responses-table tbody .response-col_status"
    page.wait_for_selector(live)
    assert page.locator(live).first.inner_text().strip() == "200"
    check_page(page, problems, shot=f"api-docs-tried-{tag}")

    # A change too: the CSRF token from the page goes with the session (else a 403).
    ack = page.locator(".opblock", has_text="/api/checkins/alerts/{alert_id}/ack").first
    ack.locator(".opblock-summary-control").click()
    ack.locator(".try-out__btn").click()
    ack.locator("input[placeholder=alert_id]").fill(str(alert.pk))
    ack.locator(".execute").click()
    ack.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    assert ack.locator(".live-responses-table tbody .response-col_status").first.inner_text() == (
        "200"
    )
    alert.refresh_from_db()
    assert alert.state == "acknowledged"
    assert not problems, problems


def test_the_favicon_answers(live_server, browser):
    problems: list[str] = []
    page = new_page(browser, problems)
    response = page.goto(f"{live_server.url}/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert not problems, problems
