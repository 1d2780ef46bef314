"""What the browser journeys share: Debian's Chromium through Playwright's sync API, a page
that records every console error, CSP violation and failed GET, and signing in with password
and TOTP. Import the fixtures into a test module:

    from jikimi.core.tests.browser import BROWSER_MARKS, browser_fixture, new_page, sign_in

`browser_fixture` registers the fixture `browser` (another name, so that a test's `browser`
argument does not shadow the import).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the journeys make
# (reading a TOTP device, running the monitor) are plain synchronous code and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# JIKIMI_CHROMIUM: another Chromium (e.g. one unpacked without installing it system-wide).
CHROMIUM = os.environ.get("JIKIMI_CHROMIUM", "/usr/bin/chromium")
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

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs {CHROMIUM}"),
]


@pytest.fixture(name="browser")
def browser_fixture():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def new_page(
    browser, problems: list[str], *, locale: str = "ko-KR", viewport=None, **context_options
):
    """A page in a fresh context (its own cookies: one person or one staff member), the
    desktop size unless `viewport` is given; `context_options` go to the context (touch,
    JavaScript off)."""
    context = browser.new_context(
        locale=locale, viewport=viewport or {"width": 1280, "height": 900}, **context_options
    )
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


def sign_in(page, base: str, user, password: str, *, next_path: str = "") -> None:
    """Password, then the TOTP code; ends on `next_path` (default: the people list)."""
    from urllib.parse import quote

    from jikimi.accounts.services import totp_device

    page.goto(f"{base}/accounts/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", totp_device(user).current_token())
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(".*" + re.escape(next_path or "/people/") + "$"))


def glyphs_differ(page, selector: str) -> bool:
    """Whether the first two distinct characters of `selector`'s text look different on a
    screenshot. Missing glyphs all render as the same box ("tofu"), so two different Hangul
    syllables that look alike mean the Korean font is not there."""
    boxes = page.locator(selector).first.evaluate(
        """(el) => {
            const text = el.firstChild;
            const seen = new Set(), boxes = [];
            for (let i = 0; i < text.length && boxes.length < 2; i++) {
                const ch = text.data[i];
                if (ch.trim() === "" || seen.has(ch)) continue;
                seen.add(ch);
                const range = document.createRange();
                range.setStart(text, i);
                range.setEnd(text, i + 1);
                const r = range.getBoundingClientRect();
                boxes.push({x: r.x, y: r.y, width: r.width, height: r.height});
            }
            return boxes;
        }"""
    )
    assert len(boxes) == 2, boxes
    # The same clip size for both, so only the ink can differ.
    width = max(b["width"] for b in boxes)
    height = max(b["height"] for b in boxes)
    left, right = (
        page.screenshot(clip={"x": b["x"], "y": b["y"], "width": width, "height": height})
        for b in boxes
    )
    return left != right


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# The (locale, viewport) pairs a page is checked in: Korean first. TWO_CASES where a page's
# test is long; ALL_CASES (both languages on both sizes) where it is cheap.
TWO_CASES = [
    pytest.param("ko-KR", DESKTOP, id="ko-desktop"),
    pytest.param("en-GB", PHONE, id="en-phone"),
]
ALL_CASES = [
    *TWO_CASES,
    pytest.param("ko-KR", PHONE, id="ko-phone"),
    pytest.param("en-GB", DESKTOP, id="en-desktop"),
]

# What a page must not show: the page itself wider than the window (a phone scrolls
# sideways), a box whose text runs out of it, and a number, code, badge or button broken over
# two lines ("10/8", "Remov/e"). Scroll containers (.table-wrap) may be wider inside: that is
# their purpose.
_LAYOUT_JS = (Path(__file__).resolve().parent / "layout_check.js").read_text(encoding="utf-8")


def layout_problems(page) -> list[str]:
    """What `_LAYOUT_JS` finds on the page as it is now."""
    return page.evaluate(_LAYOUT_JS)


def axe_violations(page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of `impacts` on the page, one line each (rule, impact, where).
    The script is evaluated through the DevTools protocol, which the page's CSP does not
    govern, so the strict CSP stays on while it runs."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in result
        if v["impact"] in impacts
    ]


def check_page(page, problems: list[str], *, shot: str | None = None) -> None:
    """Everything a page must pass, asserted together so one run names every fault: no
    console error, CSP violation or failed GET so far (`problems`, from `new_page`), no
    layout fault, no serious or critical axe violation. `shot` saves a full-page screenshot
    as bench/out/ui/<shot>.png (and docs/img/ when JIKIMI_DOC_SHOTS is set)."""
    if shot:
        screenshot(page, shot)
    faults = [f"console/network: {p}" for p in problems]
    faults += [f"layout: {p}" for p in layout_problems(page)]
    faults += [f"axe: {p}" for p in axe_violations(page)]
    assert not faults, f"{page.url}:\n" + "\n".join(faults)


DOC_SHOTS = Path(__file__).resolve().parents[4] / "docs" / "img"


def screenshot(page, name: str) -> Path:
    """A full-page PNG in bench/out/ui/; also in docs/img/ when JIKIMI_DOC_SHOTS=1 (how the
    README's pictures are made: `JIKIMI_DOC_SHOTS=1 make test-sqlite PYTEST_ARGS=-m browser`)."""
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("JIKIMI_DOC_SHOTS"):
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_SHOTS / f"{name}.png"), full_page=True)
    return path
