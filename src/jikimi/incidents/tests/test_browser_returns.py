"""The returnees pages in a real browser: a supervisor (in Korean) finds a returnee in the list,
records a determination with evidence for and against on the determination page, and both
pages pass the design system's checks (console, CSP, layout, axe), in Korean on a desktop and
in English on a phone."""

from __future__ import annotations

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    DESKTOP,
    TWO_CASES,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


def test_a_supervisor_records_a_determination_in_korean(live_server, staff, browser):
    from jikimi.conftest import PASSWORD
    from jikimi.incidents import services
    from jikimi.incidents.models import Act, Information, ReturnDetermination

    supervisor = staff["supervisor"]
    event = services.record_event(
        staff["caseworker"],
        title="옌지 인근 납치",
        date="2017-08",
        place="Yanji",
        acts=[
            {
                "act_type": "abduction",
                "victim": {"name": "Ri Song-chol", "name_hangul": "리성철", "sex": "M"},
                "information": [{"source": "family_report", "source_reliability": "B"}],
            }
        ],
        information=[{"source": "nk_media", "source_reliability": "F"}],
    )
    act = Act.objects.get(event=event)
    media = Information.objects.get(event=event, act__isnull=True)
    code = act.victim.code
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale="ko-KR", viewport=DESKTOP)
    sign_in(page, base, supervisor, PASSWORD)

    page.goto(f"{base}/incidents/returnees")
    assert page.locator("h1").inner_text() == "귀환자"
    assert "미판단" in page.locator("table").inner_text()
    check_page(page, problems, shot="returnees-list-empty-ko-desktop")
    page.click(f"a:text('{code}')")
    assert page.locator("h1").inner_text() == "Ri Song-chol 님이 돌아간 경위"

    page.select_option(f"#act-{act.pk}-reading", "abduction")
    page.select_option(f"#act-{act.pk}-stance", "supports")
    page.select_option(f"#info-{act.pk}-{media.pk}-reading", "voluntary")
    page.select_option(f"#info-{act.pk}-{media.pk}-stance", "supports")
    page.select_option("#id_determination", "abduction")
    page.select_option("#id_confidence", "medium")
    page.fill("#id_rationale", "가족이 강제로 끌려갔다고 증언함; 북한 방송은 자진 귀환이라 주장")
    page.click("button:text('판단 저장')")
    page.wait_for_selector("ul.messages li.success")
    assert "제1판이 현재 판단입니다" in page.locator("ul.messages").inner_text()
    current = ReturnDetermination.objects.get(current=True)
    assert current.determination.code == "abduction" and current.links.count() == 2
    readings = page.locator("section[aria-labelledby=readings-head] .table-wrap").inner_text()
    assert "납치" in readings and "북한 매체" in readings
    check_page(page, problems, shot="returnees-detail-ko-desktop")

    page.goto(f"{base}/incidents/returnees?determination=abduction")
    assert code in page.locator("table").inner_text()
    assert "보통" in page.locator("table").inner_text()
    check_page(page, problems, shot="returnees-list-ko-desktop")


@pytest.mark.parametrize("locale,viewport", TWO_CASES)
def test_the_returnee_pages_pass_the_checks(live_server, staff, browser, locale, viewport):
    from jikimi.conftest import PASSWORD
    from jikimi.incidents.tests.returns_world import add_acts

    alpha = staff["analyst"].organisation
    people = add_acts(
        alpha,
        [
            (3, "abduction", ["case_file", "ngo_list"], "abduction"),
            (2, "claimed_voluntary_return", ["nk_media"], None),
        ],
    )
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["analyst"], PASSWORD)
    tag = f"{locale[:2]}-{'desktop' if viewport['width'] > 800 else 'phone'}"
    page.goto(f"{base}/incidents/returnees")
    check_page(page, problems, shot=f"returnees-list-analyst-{tag}")
    page.goto(f"{base}/incidents/returnees/{people[0].code}")
    assert page.locator("#id_rationale").count() == 0  # analysts read only
    check_page(page, problems, shot=f"returnees-detail-analyst-{tag}")
