"""The alert board and an alert's page pass the design system's checks (core/tests/browser.py
`check_page`) in Korean on a desktop and in English on a phone, with a duress alert, a missed
check-in, a drill, an acknowledged alert and an alert with a task to the authorities on the
board: priorities and states in words, the person's name beside the code for a case worker,
the age of each alert, the duress row marked as danger and the drill as a drill.

Screenshots: bench/out/ui/checkins-<page>-<ko|en>-<phone|desktop>.png
"""

from __future__ import annotations

from datetime import timedelta

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

CASES = TWO_CASES

WORDS = {
    "ko": {"urgent": "긴급", "high": "높음", "ago": "12분 전", "ack": "확인함", "drill": "훈련"},
    "en": {
        "urgent": "Urgent",
        "high": "High",
        "ago": "12 min ago",
        "ack": "Acknowledged",
        "drill": "DRILL",
    },
}


@pytest.fixture
def board(staff, person, deadline_kind):
    """On the board: a duress alert 12 minutes old (김철수), a drill's missed check-in, an
    acknowledged repeated-wrong-PIN alert and a case deadline with a task to the authorities."""
    from django.utils import timezone

    from jikimi.alerts import services
    from jikimi.people import services as people

    now = timezone.now()
    worker = staff["caseworker"]
    other = people.create_person(worker, name="최민수")

    def raise_(kind, key, who, minutes, **kw):
        return services.raise_alert(
            organisation_id=who.organisation_id,
            kind=kind,
            key=key,
            detail={},
            person=who,
            assignee=worker,
            now=now - timedelta(minutes=minutes),
            **kw,
        )

    duress = raise_("duress", "b:duress", person, 12)
    raise_("missed", "b:missed", other, 95, is_drill=True)
    wrong = raise_("wrong_pins", "b:wrong", other, 60 * 26)
    services.acknowledge(worker, wrong)
    deadline = raise_("test_deadline", "b:deadline", person, 60 * 24 * 3)
    services.create_task(deadline, kind="notify_authorities", now=now)
    return {"duress": duress, "wrong": wrong, "deadline": deadline}


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_alert_pages_pass_the_page_checks(
    live_server, staff, person, browser, board, locale, viewport
):
    from jikimi.conftest import PASSWORD

    lang = locale[:2]
    words = WORDS[lang]
    tag = f"{lang}-{'phone' if viewport is PHONE else 'desktop'}"
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["caseworker"], PASSWORD)

    page.goto(f"{base}/checkins/")
    check_page(page, problems, shot=f"checkins-board-{tag}")
    rows = page.locator("#alert-rows tr")
    assert rows.count() == 4
    top = rows.first
    assert "alert-duress" in top.get_attribute("class") and "is-danger" in top.get_attribute(
        "class"
    )
    assert top.locator(".badge.danger").inner_text() == words["urgent"]
    top_text = top.inner_text()
    assert "김철수" in top_text and person.code in top_text
    assert top.locator(".age").inner_text() == words["ago"]
    assert page.locator("#alert-rows tr.drill .badge.drill").inner_text().startswith(words["drill"])
    main = page.locator("main").inner_text()
    assert "우선순위 0" not in main and "duress" not in main and "(ack)" not in main
    assert words["ack"] in page.locator("#alert-rows tr.alert-wrong_pins").inner_text()

    # The duress alert's page, then the acknowledged one, then one with a task.
    page.goto(f"{base}/checkins/alerts/{board['duress'].pk}")
    assert "김철수" in page.locator("main dl").inner_text()
    check_page(page, problems, shot=f"checkins-alert-{tag}")
    page.goto(f"{base}/checkins/alerts/{board['wrong'].pk}")
    facts = page.locator("main dl").inner_text()
    assert "(ack)" not in facts and "ack" not in facts.split()
    check_page(page, problems, shot=f"checkins-alert-acknowledged-{tag}")
    page.goto(f"{base}/checkins/alerts/{board['deadline'].pk}")
    assert "notify_authorities" not in page.locator("main").inner_text()
    check_page(page, problems, shot=f"checkins-alert-task-{tag}")
    page.context.close()
