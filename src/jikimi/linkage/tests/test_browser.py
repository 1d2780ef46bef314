"""End to end in a real Chromium: a case worker works the linkage review queue. The engine
queues three spellings of one name (이지현, Ri Ji Hyon, Lee Ji-hyun) as it does for any new
record; the reviewer compares a pair side by side and confirms it, rejects another, and
then undoes the confirmed link from the linked-records page with a reason. Screenshots go
to bench/out/ui/.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/linkage/tests/test_browser.py
"""

from __future__ import annotations

import re

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    SHOTS,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


def _pending(a, b):
    from jikimi.linkage.models import ReviewItem, ReviewStatus

    left, right = sorted((a, b), key=lambda p: str(p.pk))
    return ReviewItem.objects.get(person_a=left, person_b=right, status=ReviewStatus.PENDING)


def _open_pair(page, item) -> None:
    page.click(f"a[href='/linkage/review/{item.pk}/']")
    page.wait_for_url(re.compile(rf".*/linkage/review/{item.pk}/$"))


def test_it_runs_the_review_journey_in_a_browser(live_server, staff, browser):
    from jikimi.conftest import PASSWORD
    from jikimi.linkage.models import PersonLink, ReviewStatus
    from jikimi.people import services as people

    cw = staff["caseworker"]
    # Created as the pages do: each commit runs the linkage engine (signals.py).
    lee = people.create_person(cw, name="이지현", birth_year=1990, sex="F")
    ri = people.create_person(cw, name="Ri Ji Hyon", birth_year=1990, sex="F")
    lee2 = people.create_person(cw, name="Lee Ji-hyun", birth_year=1990, sex="F")
    same, different = _pending(lee, ri), _pending(lee, lee2)

    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems)
    sign_in(page, base, cw, PASSWORD, next_path="/linkage/review/")
    queue = page.locator("main table").inner_text()
    assert lee.code in queue and ri.code in queue and lee2.code in queue
    assert "이지현" in queue and "Ri Ji Hyon" in queue
    page.screenshot(path=str(SHOTS / "30-linkage-queue.png"), full_page=True)

    # Side by side: both records, the Hangul name's romanisations, field by field.
    _open_pair(page, same)
    sides = page.locator("main .grid section.card")
    assert sides.count() == 2
    shown = {sides.nth(0).locator("h2").inner_text(), sides.nth(1).locator("h2").inner_text()}
    assert shown == {lee.code, ri.code}
    text = page.locator("main").inner_text()
    assert "이지현" in text and "Ri Ji Hyon" in text and "I Ji Hyeon" in text
    assert page.locator("tr.level-keys_intersect").count() >= 1
    page.screenshot(path=str(SHOTS / "31-linkage-compare.png"), full_page=True)

    # Confirm: the pair leaves the queue and a reviewed link exists.
    page.fill("#id_reason", "탈북 시기와 출생 연도 일치")
    page.click(f"form[action='/linkage/review/{same.pk}/confirm'] button")
    page.wait_for_url(re.compile(r".*/linkage/review/$"))
    assert page.locator("ul.messages li.success").count() == 1
    assert page.locator(f"a[href='/linkage/review/{same.pk}/']").count() == 0
    link = PersonLink.objects.get(person_a=same.person_a, person_b=same.person_b)
    assert link.method == "review" and link.created_by == cw and link.unlinked_at is None

    # Reject another pair: it leaves the queue as decided.
    _open_pair(page, different)
    page.click(f"form[action='/linkage/review/{different.pk}/reject'] button")
    page.wait_for_url(re.compile(r".*/linkage/review/$"))
    assert page.locator(f"a[href='/linkage/review/{different.pk}/']").count() == 0
    different.refresh_from_db()
    assert different.status == ReviewStatus.REJECTED and different.decided_by == cw
    page.screenshot(path=str(SHOTS / "32-linkage-after-decisions.png"), full_page=True)

    # Undo the confirmed link from the person's linked records, with a reason.
    page.goto(f"{base}/people/{lee.code}/")
    page.click(f"a[href='/linkage/people/{lee.code}/']")
    members = page.locator("main table tbody tr")
    assert members.count() == 1 and ri.code in members.first.inner_text()
    assert "탈북 시기와 출생 연도 일치" in members.first.inner_text()
    page.screenshot(path=str(SHOTS / "33-linkage-cluster.png"), full_page=True)
    page.fill(f"#reason-{link.pk}", "생년월일이 다름: 다른 사람")
    page.click(f"form[action='/linkage/links/{link.pk}/unlink'] button")
    page.wait_for_url(re.compile(rf".*/linkage/people/{lee.code}/$"))
    assert page.locator("ul.messages li.success").count() == 1
    assert page.locator("main p.empty").count() == 1
    link.refresh_from_db()
    assert link.unlinked_at and link.unlinked_by == cw
    assert link.unlink_reason == "생년월일이 다름: 다른 사람"
    page.context.close()

    assert not problems, problems
