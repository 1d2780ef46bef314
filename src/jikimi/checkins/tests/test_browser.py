"""End to end in a real Chromium: a case worker enrols a consenting person from the pages;
the person, in a browser of their own, sets a PIN and a duress PIN and checks in with the PIN
pad, once normally and once under duress, and sees the same page both times; the alert
board, refreshed by board.js without a reload, puts the duress alert above an older missed
check-in once the monitor has run; the case worker acknowledges and closes it with a reason.
Screenshots go to bench/out/ui/.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/checkins/tests/test_browser.py
"""

from __future__ import annotations

import re
from datetime import timedelta

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    SHOTS,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    glyphs_differ,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


def _pad(page, pin: str) -> None:
    """Type the PIN with the on-screen keys (pinpad.js), not the keyboard."""
    for digit in pin:
        page.click(f".pinpad .key[data-digit='{digit}']")
    assert page.input_value("#pin") == pin


def _expected_error(problems: list[str], since: int, status: int) -> None:
    """The console reports a page answered with an error status on purpose; take it back off
    the list of problems (and nothing else)."""
    assert problems[since:] and all(str(status) in p for p in problems[since:]), problems
    del problems[since:]


def _tick(page) -> None:
    """Move the board's clock one refresh on and wait until the rows it fetched are in.

    The response arriving is not enough: board.js swaps the rows in a later task, and a
    count taken in between still sees the old rows (a CI run failed that way).
    """
    swaps = int(page.evaluate("document.getElementById('alert-board').dataset.refreshed || '0'"))
    with page.expect_response(lambda r: "fragment=1" in r.url) as response:
        page.clock.run_for(5_000)
    assert response.value.ok
    page.wait_for_function(
        "n => parseInt(document.getElementById('alert-board').dataset.refreshed || '0', 10) > n",
        arg=swaps,
    )


def test_it_runs_the_duress_journey_in_a_browser(live_server, staff, person, enrol, smtp, browser):
    from django.utils import timezone

    from jikimi.alerts.models import Alert
    from jikimi.checkins.models import CheckIn
    from jikimi.checkins.monitor import run_once
    from jikimi.conftest import PASSWORD
    from jikimi.people import services as people

    base = live_server.url
    problems: list[str] = []
    caseworker = staff["caseworker"]

    # Already on the board: someone else's missed check-in, older than anything below.
    other = people.create_person(caseworker, name="최민수")
    people.record_consent(caseworker, other, purpose="checkins", granted=True, method="written")
    enrol(other, interval_hours=1, grace_minutes=10, now=timezone.now() - timedelta(days=3))
    run_once()
    assert Alert.objects.get().kind == "missed"

    # The case worker enrols the person from their page.
    staff_page = new_page(browser, problems)
    sign_in(staff_page, base, caseworker, PASSWORD, next_path=f"/people/{person.code}/")
    staff_page.click(f"a[href='/checkins/enrol/{person.code}']")
    staff_page.fill("input[name=interval_hours]", "24")
    staff_page.fill("input[name=grace_minutes]", "90")
    staff_page.click("form button.primary")
    setup_link = staff_page.locator("main code").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(base)}/c/setup/\S+", setup_link), setup_link
    staff_page.screenshot(path=str(SHOTS / "10-checkins-setup-link.png"), full_page=True)

    # The person, in a browser with no staff session, chooses the PINs.
    me = new_page(browser, problems)
    me.goto(setup_link)
    assert me.locator("html").get_attribute("lang") == "ko"
    me.fill("#pin", "1234")  # trivial: refused (400), with the reason
    me.fill("#duress_pin", "1397")
    before = len(problems)
    me.click("form button[type=submit]")
    assert me.locator(".field:has(#pin) .field-error").inner_text().startswith("PIN: ")
    _expected_error(problems, before, 400)
    me.fill("#pin", "2580")
    me.fill("#duress_pin", "1397")
    me.click("form button[type=submit]")
    checkin_link = me.locator("main a[href*='/c/']").get_attribute("href")
    assert re.fullmatch(rf"{re.escape(base)}/c/\S+", checkin_link), checkin_link
    me.screenshot(path=str(SHOTS / "11-checkins-pins-saved.png"), full_page=True)
    before = len(problems)
    me.goto(setup_link)  # the set-up link worked once (404 now)
    assert me.locator("#duress_pin").count() == 0
    _expected_error(problems, before, 404)

    # A normal check-in with the PIN pad.
    me.goto(checkin_link)
    # Korean by default, in the vendored font: two different syllables must not look
    # alike (missing glyphs all draw the same box).
    assert me.locator("h1").inner_text() == "안부 확인"
    loaded = me.evaluate(
        "document.fonts.ready.then(() => [...document.fonts]"
        ".filter(f => f.family.includes('Noto Sans KR') && f.status === 'loaded').length)"
    )
    assert loaded >= 1
    assert glyphs_differ(me, "h1")
    me.screenshot(path=str(SHOTS / "12-checkins-pad.png"), full_page=True)
    _pad(me, "2580")
    me.click("form.pinpad button[type=submit]")
    me.wait_for_url(checkin_link)
    normal = (me.title(), me.locator("body").inner_text())
    me.screenshot(path=str(SHOTS / "13-checkins-thanks.png"), full_page=True)

    # Under duress: the same page, to the last visible character.
    me.goto(checkin_link)
    _pad(me, "1397")
    me.click("form.pinpad button[type=submit]")
    me.wait_for_url(checkin_link)
    assert (me.title(), me.locator("body").inner_text()) == normal
    assert "안부 확인이 접수되었습니다." in normal[1]
    me.screenshot(path=str(SHOTS / "14-checkins-thanks-duress.png"), full_page=True)
    kinds = CheckIn.objects.filter(enrolment__person=person).order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == ["ok", "duress"]
    me.context.close()

    # The board, kept open: board.js refreshes it; the alarm appears once the monitor ran.
    staff_page.clock.install()
    staff_page.goto(f"{base}/checkins/")
    staff_page.evaluate("window.stillTheSamePage = true")
    rows = staff_page.locator("#alert-rows tr")
    assert rows.count() == 1 and other.code in rows.first.inner_text()
    _tick(staff_page)
    assert staff_page.locator("#alert-rows tr.alert-duress").count() == 0
    mails = len(smtp.messages)
    run_once()
    _tick(staff_page)
    assert staff_page.evaluate("window.stillTheSamePage") is True  # no reload
    assert rows.count() == 2
    top = rows.first
    assert "alert-duress" in top.get_attribute("class")
    assert person.code in top.inner_text() and "강압 PIN 사용" in top.inner_text()
    assert other.code in rows.nth(1).inner_text()
    staff_page.screenshot(path=str(SHOTS / "15-checkins-board.png"), full_page=True)
    duress_mails = smtp.wait_for(mails + 1)[mails:]
    assert "caseworker@alpha.example" in {m["To"] for m in duress_mails}

    # Acknowledge, then close with a reason.
    top.locator("a[href^='/checkins/alerts/']").click()
    staff_page.wait_for_url(re.compile(r".*/checkins/alerts/\d+$"))
    staff_page.click("form[action$='/ack'] button")
    staff_page.wait_for_selector("form[action$='/ack']", state="detached")
    assert "확인함" in staff_page.locator("main dl").inner_text()
    staff_page.fill("#reason", "본인과 통화함: 안전 확인")
    staff_page.click("form[action$='/close'] button")
    staff_page.wait_for_selector("form[action$='/close']", state="detached")
    facts = staff_page.locator("main dl").inner_text()
    assert "종료" in facts and "본인과 통화함: 안전 확인" in facts
    staff_page.screenshot(path=str(SHOTS / "16-checkins-closed.png"), full_page=True)
    duress = Alert.objects.get(kind="duress")
    assert duress.state == "closed" and duress.closed_by == caseworker

    staff_page.goto(f"{base}/checkins/")
    assert rows.count() == 1 and other.code in rows.first.inner_text()
    staff_page.context.close()

    assert not problems, problems
