"""The person's own pages — PIN set-up, the check-in pad, the confirmation — in a real
Chromium: they pass the design system's checks (`check_page`) in Korean and English, on a
desktop and on a phone; set-up errors are translated and stand under their field with its
label; the pad is a 3 × 4 grid of keys at least 48 px that works by touch; and everything
works with JavaScript off (the keypad is an enhancement: the PIN field and the button do).
Screenshots: bench/out/ui/person-<page>-<ko|en>-<phone|desktop>.png.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/checkins/tests/test_browser_person.py
"""

from __future__ import annotations

import pytest

from jikimi.core.tests.browser import (
    ALL_CASES,
    BROWSER_MARKS,
    PHONE,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    layout_problems,
    new_page,
    screenshot,
)

pytestmark = BROWSER_MARKS

CASES = ALL_CASES
TEXT = {
    "ko": {
        "pad": "안부 확인",
        "thanks": "안부 확인이 접수되었습니다.",
        "too_easy": "PIN: 너무 쉬운 번호입니다",
        "same_length": "비상 PIN: PIN 과 자릿수가 같아야 합니다.",
    },
    "en": {
        "pad": "Check in",
        "thanks": "Your check-in was received.",
        "too_easy": "PIN: too easy to guess",
        "same_length": "Emergency PIN: must have as many digits as the PIN.",
    },
}


def _person_page(browser, problems: list[str], locale: str, viewport: dict, **options):
    """A page in a fresh context of the person's own (no staff session), from `new_page`;
    `options` go to the context (touch, JavaScript off)."""
    page = new_page(browser, problems, locale=locale, viewport=viewport, **options)
    page.set_default_timeout(60_000)  # a shared, busy machine
    return page


def _expected_error(problems: list[str], since: int, status: int) -> None:
    """The console reports that a page answered with an error status on purpose (a refused
    set-up, a used link); take exactly that back off the list."""
    assert problems[since:] and all(str(status) in p for p in problems[since:]), problems
    del problems[since:]


def _submit(page, selector: str, *, tap: bool = False) -> None:
    """Press a submit button and wait for the answer page (the check-in posts to its own
    URL, so waiting for the URL would not wait at all)."""
    with page.expect_navigation():
        (page.tap if tap else page.click)(selector)


def _setup_link(staff, person, base: str, **kw) -> str:
    from jikimi.checkins import services

    return base + services.enrol(staff["caseworker"], person, interval_hours=24, **kw).setup_path


def _keys(page) -> list[dict]:
    return [
        page.locator(".pinpad .key").nth(i).bounding_box()
        for i in range(page.locator(".pinpad .key").count())
    ]


def _assert_keypad_grid(page) -> None:
    """Twelve keys in three columns and four rows (1 2 3 / 4 5 6 / 7 8 9 / clear 0 ←), none
    smaller than 48 × 48 px and none touching another."""
    labels = [t.strip() for t in page.locator(".pinpad .key").all_inner_texts()]
    assert labels[:9] == list("123456789") and labels[10] == "0" and labels[11] == "←", labels
    boxes = _keys(page)
    assert len(boxes) == 12
    assert all(b["width"] >= 48 and b["height"] >= 48 for b in boxes), boxes
    columns = sorted({round(b["x"]) for b in boxes})
    rows = sorted({round(b["y"]) for b in boxes})
    assert len(columns) == 3 and len(rows) == 4, (columns, rows)
    for i, b in enumerate(boxes):  # row-major: key i sits in row i // 3, column i % 3
        assert (round(b["y"]), round(b["x"])) == (rows[i // 3], columns[i % 3]), i
    # Gaps between neighbours, so a thumb hits one key.
    assert columns[1] - columns[0] > boxes[0]["width"] + 4
    assert rows[1] - rows[0] > boxes[0]["height"] + 4
    for selector in ("form.pinpad button[type=submit]", "#pin"):
        box = page.locator(selector).bounding_box()
        assert box["height"] >= 48, (selector, box)


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_the_person_pages_pass_the_page_checks(
    live_server, staff, person, browser, locale, viewport
):
    from jikimi.checkins.models import CheckIn

    lang = locale[:2]
    tag = f"{lang}-{'phone' if viewport is PHONE else 'desktop'}"
    base = live_server.url
    problems: list[str] = []
    page = _person_page(browser, problems, locale, viewport)
    setup_link = _setup_link(staff, person, base)

    # Set-up, then a refused choice: the message under its field, translated, with the label.
    page.goto(setup_link)
    assert page.locator("html").get_attribute("lang") == lang
    check_page(page, problems, shot=f"person-setup-{tag}")
    page.fill("#pin", "1234")
    page.fill("#duress_pin", "13975")
    before = len(problems)
    page.click("form button[type=submit]")
    page.wait_for_selector(".field-error")
    _expected_error(problems, before, 400)
    under_pin = page.locator(".field:has(#pin) .field-error").inner_text()
    assert under_pin.startswith(TEXT[lang]["too_easy"]), under_pin
    assert page.locator("#pin").get_attribute("aria-invalid") == "true"
    assert page.locator(".field:has(#duress_pin) .field-error").count() == 0
    text = page.locator("body").inner_text()
    assert "duress_pin" not in text and "pin:" not in text
    check_page(page, problems, shot=f"person-setup-error-{tag}")
    # The lengths differ: the emergency PIN's message, under the emergency PIN.
    page.fill("#pin", "2580")
    page.fill("#duress_pin", "13975")
    before = len(problems)
    page.click("form button[type=submit]")
    page.wait_for_selector(".field-error")
    _expected_error(problems, before, 400)
    under = page.locator(".field:has(#duress_pin) .field-error").inner_text()
    assert under == TEXT[lang]["same_length"]
    assert "duress_pin" not in page.locator("body").inner_text()

    page.fill("#pin", "2580")
    page.fill("#duress_pin", "1397")
    page.click("form button[type=submit]")
    link = page.locator("main a.person-link")
    checkin_link = link.get_attribute("href")
    assert checkin_link.startswith(f"{base}/c/") and link.inner_text() == checkin_link
    check_page(page, problems, shot=f"person-setup-done-{tag}")

    # The used set-up link: a plain "not valid" page (404).
    before = len(problems)
    page.goto(setup_link)
    _expected_error(problems, before, 404)
    check_page(page, problems, shot=f"person-invalid-{tag}")

    # The pad, by the on-screen keys (a mouse here; touch below).
    page.goto(checkin_link)
    assert page.locator("h1").inner_text() == TEXT[lang]["pad"]
    _assert_keypad_grid(page)
    check_page(page, problems, shot=f"person-pad-{tag}")
    for digit in "2580":
        page.click(f".pinpad .key[data-digit='{digit}']")
    _submit(page, "form.pinpad button[type=submit]")
    assert TEXT[lang]["thanks"] in page.locator("main").inner_text()
    check_page(page, problems, shot=f"person-done-{tag}")

    # Travelling: the pause form under the pad.
    page.goto(checkin_link)
    page.click("details.person-more summary")
    page.fill("#pin2", "2580")
    page.fill("#days", "3")
    check_page(page, problems, shot=f"person-pad-pause-{tag}")
    _submit(page, "button[name=action][value=pause]")
    check_page(page, problems, shot=f"person-paused-{tag}")
    kinds = CheckIn.objects.filter(enrolment__person=person).order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == ["ok", "pause"]
    page.context.close()


@pytest.mark.parametrize("locale", ["ko-KR", "en-GB"])
def test_the_checkin_pad_used_by_touch(live_server, enrol, browser, locale):
    """A phone (390 × 844, touch, mobile): the keys are tapped, ← takes one digit back,
    clear empties the field; normal and duress PIN end on the same page."""
    from jikimi.checkins.models import CheckIn

    lang = locale[:2]
    enrolment, token = enrol()
    link = f"{live_server.url}/c/{token}"
    problems: list[str] = []
    page = _person_page(browser, problems, locale, PHONE, has_touch=True, is_mobile=True)
    seen = []
    for pin in ("2580", "1397"):
        page.goto(link)
        assert page.evaluate("() => matchMedia('(pointer: coarse)').matches")
        _assert_keypad_grid(page)
        for digit in "97":
            page.tap(f".pinpad .key[data-digit='{digit}']")
        assert page.input_value("#pin") == "97"
        page.tap(".pinpad .key[data-back]")
        assert page.input_value("#pin") == "9"
        page.tap(".pinpad .key[data-clear]")
        assert page.input_value("#pin") == ""
        for digit in pin + "12345":  # at most 8 digits go in
            page.tap(f".pinpad .key[data-digit='{digit}']")
        assert page.input_value("#pin") == (pin + "12345")[:8]
        for _ in range(5):
            page.tap(".pinpad .key[data-back]")
        assert page.input_value("#pin") == pin[:3]
        page.tap(f".pinpad .key[data-digit='{pin[3]}']")
        assert page.input_value("#pin") == pin
        # The last key tapped looks like every other: no hover colour left on it.
        colours = page.eval_on_selector_all(
            ".pinpad .key[data-digit]", "keys => keys.map(k => getComputedStyle(k).backgroundColor)"
        )
        assert len(set(colours)) == 1, colours
        check_page(page, problems, shot=f"person-pad-touch-{lang}-phone")
        _submit(page, "form.pinpad button[type=submit]", tap=True)
        seen.append((page.title(), page.locator("body").inner_text()))
    assert seen[0] == seen[1] and TEXT[lang]["thanks"] in seen[0][1]
    kinds = CheckIn.objects.filter(enrolment=enrolment).order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == ["ok", "duress"]
    assert not problems, problems
    page.context.close()


def _check_without_script(page, problems: list[str], shot: str) -> None:
    """`check_page` less axe-core, whose run waits on timers that never fire while the
    page's scripts are off (the same pages pass axe with scripts on, above)."""
    screenshot(page, shot)
    faults = [f"console/network: {p}" for p in problems]
    faults += [f"layout: {p}" for p in layout_problems(page)]
    assert not faults, f"{page.url}:\n" + "\n".join(faults)


@pytest.mark.parametrize(("locale", "viewport"), [CASES[1], CASES[2]])
def test_the_person_pages_work_without_javascript(
    live_server, staff, person, browser, locale, viewport
):
    """JavaScript off: no keypad of keys that would do nothing; the person types the PIN
    into the field (the phone's number keyboard: inputmode=numeric) and presses the button."""
    from jikimi.checkins.models import CheckIn

    lang = locale[:2]
    tag = f"{lang}-{'phone' if viewport is PHONE else 'desktop'}"
    base = live_server.url
    problems: list[str] = []
    page = _person_page(browser, problems, locale, viewport, java_script_enabled=False)
    page.goto(_setup_link(staff, person, base))
    page.fill("#pin", "2580")
    page.fill("#duress_pin", "1397")
    page.click("form button[type=submit]")
    checkin_link = page.locator("main a.person-link").get_attribute("href")

    page.goto(checkin_link)
    # No page script ran (jikimi.js would have marked <html> with "js").
    assert page.evaluate("() => document.documentElement.classList.contains('js')") is False
    assert not page.locator(".pinpad .keys").is_visible()
    assert page.locator("#pin").get_attribute("inputmode") == "numeric"
    _check_without_script(page, problems, f"person-pad-nojs-{tag}")
    page.click("#pin")
    page.keyboard.type("2580")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # implicit submission: no script needed
    assert TEXT[lang]["thanks"] in page.locator("main").inner_text()
    page.goto(checkin_link)
    page.fill("#pin", "1397")
    _submit(page, "form.pinpad button[type=submit]")
    assert TEXT[lang]["thanks"] in page.locator("main").inner_text()
    _check_without_script(page, problems, f"person-done-nojs-{tag}")
    kinds = CheckIn.objects.filter(enrolment__person=person).order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == ["ok", "duress"]
    page.context.close()


@pytest.mark.parametrize(("locale", "viewport"), [CASES[0], CASES[3]])
def test_the_set_up_link_page_passes_the_page_checks(
    live_server, staff, person, browser, locale, viewport
):
    """The case worker's page that shows the one-time link (a long token: it must wrap
    inside its card on a phone, not widen the page)."""
    from jikimi.conftest import PASSWORD
    from jikimi.core.tests.browser import new_page, sign_in

    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["caseworker"], PASSWORD, next_path=f"/checkins/enrol/{person.code}")
    page.fill("input[name=interval_hours]", "24")
    page.click("form button.primary")
    link = page.locator("main code").inner_text().strip()
    assert link.startswith(f"{base}/c/setup/")
    check_page(page, problems, shot=f"person-setup-link-{tag}")
    page.context.close()


def test_the_person_switches_language_on_the_pad_without_javascript_or_account(
    live_server, enrol, browser
):
    """A plain form under the card: one button per language, ≥ 48 px, posting to Django's
    set_language, back to the same /c/<token> address, the page then in the other language."""
    _enrolment, token = enrol()
    problems: list[str] = []
    page = _person_page(browser, problems, "ko-KR", PHONE)  # scripts on: axe runs
    url = f"{live_server.url}/c/{token}"
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "ko"
    english = page.locator(".person-lang button[value=en]")
    for button in (english, page.locator(".person-lang button[value=ko]")):
        box = button.bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48, box
    assert english.get_attribute("lang") == "en" and english.inner_text() == "English"
    check_page(page, problems, shot="person-pad-lang-ko-phone")
    with page.expect_navigation():
        english.click()
    assert page.url.startswith(f"{live_server.url}/c/")  # the pad again (its token path)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == TEXT["en"]["pad"]
    assert page.locator(".person-lang button[value=en]").get_attribute("aria-pressed") == "true"
    check_page(page, problems, shot="person-pad-lang-en-phone")
    page.context.close()
