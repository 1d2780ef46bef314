"""The linkage pages (review queue, a pair side by side, linked records) pass the design
system's checks (core/tests/browser.py `check_page`) in Korean on a desktop and in English on
a phone: no console error, nothing wider than the window, no number or code broken, no
serious axe violation."""

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


@pytest.mark.parametrize(("locale", "viewport"), TWO_CASES)
def test_linkage_pages_pass_the_page_checks(live_server, staff, browser, locale, viewport):
    from jikimi.conftest import PASSWORD
    from jikimi.linkage.models import ReviewItem
    from jikimi.linkage.services import confirm
    from jikimi.people import services as people

    cw = staff["caseworker"]
    # Created as the pages do: each commit runs the linkage engine, which queues the pairs.
    lee = people.create_person(cw, name="이지현", birth_year=1990, sex="F", province="KP-09")
    people.create_person(cw, name="Ri Ji Hyon", birth_year=1990, sex="F", province="KP-09")
    people.create_person(cw, name="Lee Ji-hyun", birth_year=1990, sex="F")
    items = list(ReviewItem.objects.order_by("pk"))
    assert len(items) >= 2
    confirm(cw, items[0], reason="같은 사람")
    # 200 decisions of the organisation: the pair page also gives the calibrated probability.
    from jikimi.linkage.tests.test_calibration import _decided

    _decided(cw, 200, seed=7)
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, live_server.url, cw, PASSWORD, next_path="/linkage/review/")
    check_page(page, problems, shot=f"linkage-queue-{tag}")
    if viewport is PHONE:
        # Each pair is a card on a phone: every cell (the agreement too) is in the window,
        # not behind a sideways scroll.
        cells = page.locator("main table.cards tbody tr").first.locator("td")
        for i in range(cells.count()):
            box = cells.nth(i).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    for path, name in [
        (f"/linkage/review/{items[1].pk}/", "pair"),
        (f"/linkage/people/{lee.code}/", "cluster"),
    ]:
        page.goto(live_server.url + path)
        check_page(page, problems, shot=f"linkage-{name}-{tag}")
        if name == "pair":
            assert page.locator(".calibrated").is_visible()
