"""End to end in a real Chromium: sign in with password and TOTP, create a person with a
Hangul name, find them by a romanised name through the live htmx search, add the alias they
used in China, and see the audit entry as an auditor. Screenshots go to bench/out/ui/.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/people/tests/test_browser.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls below (reading the
# TOTP device) are plain synchronous code and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[4] / "bench" / "out" / "ui"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium"),
]


@pytest.fixture(autouse=True)
def _static_dirs(settings):
    # src/jikimi/static is the project's own static folder (not an app's), so it needs
    # STATICFILES_DIRS; test_views_pages checks the setting itself. This keeps the journey
    # testable if the setting is missing.
    folder = settings.BASE_DIR / "static"
    if folder not in [Path(p) for p in getattr(settings, "STATICFILES_DIRS", [])]:
        settings.STATICFILES_DIRS = [*getattr(settings, "STATICFILES_DIRS", []), folder]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def _new_page(browser, problems: list[str]):
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Any CSP violation or script error is a bug: the pages must work under the strict CSP.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.method == "GET"
            else None
        ),
    )
    return page


def _sign_in(page, base: str, user, password: str) -> None:
    from jikimi.accounts.services import totp_device

    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", totp_device(user).current_token())
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/people/$"))


def test_it_runs_the_case_worker_journey_in_a_browser(live_server, staff, browser):
    from jikimi.conftest import PASSWORD
    from jikimi.people.services import create_person

    SHOTS.mkdir(parents=True, exist_ok=True)
    other = create_person(staff["caseworker"], name="김영희", birth_year=1990)
    base = live_server.url
    problems: list[str] = []

    page = _new_page(browser, problems)
    page.goto(f"{base}/accounts/login")
    assert page.locator("html").get_attribute("lang") == "ko"
    page.screenshot(path=str(SHOTS / "01-login.png"), full_page=True)
    _sign_in(page, base, staff["caseworker"], PASSWORD)

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
    page = _new_page(browser, problems)
    _sign_in(page, base, staff["auditor"], PASSWORD)
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
