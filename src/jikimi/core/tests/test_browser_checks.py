"""The page checks themselves find what they are for: a page wider than a phone, a number
broken over two lines and an image without a text alternative (so a page that passes them
has none of these). Text of two sizes side by side in a button is one line, not two."""

from __future__ import annotations

import pytest

from jikimi.core.tests.browser import (
    CHROMIUM,
    PHONE,
    axe_violations,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    layout_problems,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="no chromium"),
]

BAD = """<!doctype html><html lang="en"><head><title>t</title>
<meta name="viewport" content="width=device-width"></head><body><main>
<div id="wide" style="width: 900px">wide</div>
<p style="width: 3rem; overflow-wrap: anywhere"><span class="num">123,456,789,012</span></p>
<p style="width: 4rem"><button id="two">Remove this</button></p>
<p><button id="path" style="display: flex; align-items: center; width: 8rem"><span
style="padding: 8px">POST</span><span>/api/ checkins/ alerts/ ack</span></button></p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""

GOOD = """<!doctype html><html lang="en"><head><title>t</title>
<meta name="viewport" content="width=device-width"></head><body><main>
<p><span class="num">123,456</span></p>
<p><button style="display: flex; align-items: center"><span style="padding: 6px;
font-size: 14px">GET</span><span style="font-size: 11px">/api/people/</span><svg width="20"
height="20" aria-hidden="true"></svg></button></p>
<img alt="a dot" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""


def test_the_checks_find_layout_faults_and_axe_violations(browser):
    page = browser.new_page(viewport=PHONE)
    page.set_content(BAD)
    found = layout_problems(page)
    assert any("page is" in f for f in found), found
    assert any("span.num is broken over" in f for f in found), found
    assert any("button#two is broken over 2 lines" in f for f in found), found
    assert any("button#path is broken over" in f for f in found), found
    assert any(v.startswith("image-alt (critical)") for v in axe_violations(page))
    page.set_content(GOOD)
    assert layout_problems(page) == []
    assert axe_violations(page) == []
