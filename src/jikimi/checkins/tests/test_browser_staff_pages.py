"""The check-in staff pages pass the design system's checks (core/tests/browser.py
`check_page`: no console error, nothing out of its box, no number or code broken over two
lines, no serious axe violation) in Korean on a desktop and in English on a phone: enrolment
(empty, and refused with its errors), the timeline of an enrolment with check-ins of every
outcome and its alerts, a pause refused for a badly written day, the policies and the policy
form. The data is made through the services: an enrolled person with a normal, a wrong and a
duress check-in, a missed check-in alert, a drill, an acknowledged alert and a policy.

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
    "ko": {
        "duress": "강압 PIN",
        "wrong": "잘못된 PIN",
        "ok": "안부 확인됨",
        "missed": "안부 확인 누락",
        "caseworker": "담당 실무자",
        "supervisors": "관리자",
        "grace": "유예 기간(분)",
        "until": "일시 중지 종료일",
    },
    "en": {
        "duress": "Duress PIN",
        "wrong": "Wrong PIN",
        "ok": "Checked in",
        "missed": "Missed check-in",
        "caseworker": "Case worker",
        "supervisors": "Supervisors",
        "grace": "Grace period (minutes)",
        "until": "Pause until",
    },
}

# What the pages must never show as text: stored codes and field names.
RAW = [
    "interval_hours",
    "weekly_slots",
    "grace_minutes",
    "trusted_contacts",
    "authorities_task",
    "(ack)",
    "우선순위 0",
]


@pytest.fixture
def checkin_data(staff, person, enrol):
    """An enrolled person (김철수) with ok, wrong and duress check-ins and the duress alert;
    a second, drill enrolment whose check-in was missed; a policy of two steps."""
    from django.utils import timezone

    from jikimi.alerts import services as alerts
    from jikimi.checkins import services
    from jikimi.checkins.monitor import run_once
    from jikimi.people import services as people

    worker = staff["caseworker"]
    enrolment, token = enrol()
    for pin in ("2580", "0000", "1397"):
        services.record_checkin(None, pin, token=token, channel="web")
    other = people.create_person(worker, name="최민수")
    people.record_consent(worker, other, purpose="checkins", granted=True, method="written")
    drill, _token = enrol(
        other,
        interval_hours=1,
        grace_minutes=10,
        is_drill=True,
        now=timezone.now() - timedelta(days=2),
    )
    run_once(deliver=False)
    missed = alerts.alert_board(worker)
    assert {a.kind for a in missed} >= {"duress", "missed"}
    alerts.acknowledge(worker, next(a for a in missed if a.kind == "missed"))
    policy = services.create_policy(
        staff["supervisor"],
        name="fast",
        steps=[
            {"after_minutes": 0, "to": "caseworker"},
            {"after_minutes": 90, "to": "supervisors"},
            {"after_minutes": 1440, "to": "trusted_contacts"},
        ],
        repeat_minutes=30,
    )
    fresh = people.create_person(worker, name="이영희")
    return {"enrolment": enrolment, "drill": drill, "policy": policy, "fresh": fresh}


def _refused(page, problems: list[str], selector: str) -> None:
    """Submit a form the server refuses with 400 and the errors on the page; the console's
    report of that 400 (and only that) is taken back off the list of problems."""
    before = len(problems)
    page.click(selector)
    page.wait_for_selector(".error-summary")
    assert problems[before:] and all("400" in p for p in problems[before:]), problems
    del problems[before:]


def _no_raw_codes(page) -> None:
    text = page.locator("main").inner_text()
    shown = [raw for raw in RAW if raw in text]
    assert not shown, f"{page.url} shows {shown}"


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_checkin_staff_pages_pass_the_page_checks(
    live_server, staff, browser, checkin_data, locale, viewport
):
    from jikimi.conftest import PASSWORD

    lang = locale[:2]
    words = WORDS[lang]
    tag = f"{lang}-{'phone' if viewport is PHONE else 'desktop'}"
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    enrolment, drill = checkin_data["enrolment"], checkin_data["drill"]
    sign_in(page, base, staff["supervisor"], PASSWORD)

    # The timeline: every outcome by its name, the duress row marked, the drill marked.
    page.goto(f"{base}/checkins/enrolments/{enrolment.pk}")
    check_page(page, problems, shot=f"checkins-timeline-{tag}")
    rows = page.locator("table.timeline tbody")
    for word in ("duress", "wrong", "ok"):
        assert words[word] in rows.inner_text()
    assert page.locator("tr.checkin-duress.is-danger .badge.danger").count() == 1
    assert "김철수" in page.locator("h1").inner_text()
    _no_raw_codes(page)
    page.goto(f"{base}/checkins/enrolments/{drill.pk}")
    assert page.locator("h1 .badge.drill").count() == 1
    assert words["missed"] in page.locator("table.timeline").inner_text()
    check_page(page, problems, shot=f"checkins-timeline-drill-{tag}")

    # A pause with a day written the browser's way: refused, in words, under the field.
    page.goto(f"{base}/checkins/enrolments/{enrolment.pk}")
    page.fill("#id_pause-until", "12/20/2026")
    page.fill("#id_pause-reason", "travel" if lang == "en" else "출장")
    _refused(page, problems, "form[action$='/pause'] button[type=submit]")
    error = page.locator("form[action$='/pause'] .field-error").first
    assert "YYYY-MM-DD" in error.inner_text()
    assert words["until"] in page.locator("form[action$='/pause'] .error-summary").inner_text()
    check_page(page, problems, shot=f"checkins-timeline-pause-error-{tag}")

    # Enrolment: the empty form, then refused with every error named by its field's label.
    fresh = checkin_data["fresh"]
    page.goto(f"{base}/checkins/enrol/{fresh.code}")
    check_page(page, problems, shot=f"checkins-enrol-{tag}")
    page.fill("#id_grace_minutes", "99999")
    _refused(page, problems, "form.staff-form button[type=submit]")
    summary = page.locator(".error-summary").inner_text()
    assert f"{words['grace']}:" in summary
    assert page.locator(".field.has-error #id_grace_minutes").count() == 1
    _no_raw_codes(page)
    check_page(page, problems, shot=f"checkins-enrol-errors-{tag}")

    # Policies: steps in words; the form after the password.
    page.goto(f"{base}/checkins/policies/")
    ladder = page.locator("table.policies").inner_text()
    assert words["caseworker"] in ladder and words["supervisors"] in ladder
    _no_raw_codes(page)
    check_page(page, problems, shot=f"checkins-policies-{tag}")
    page.goto(f"{base}/checkins/policies/{checkin_data['policy'].pk}")
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("table.steps")
    assert (
        page.locator("select[name=step_to] option:checked").nth(1).inner_text()
        == words["supervisors"]
    )
    check_page(page, problems, shot=f"checkins-policy-form-{tag}")
    page.fill("#id_repeat_minutes", "1")
    _refused(page, problems, "form.staff-form button[type=submit]")
    assert page.locator(".error-summary li").count() == 1
    check_page(page, problems, shot=f"checkins-policy-form-errors-{tag}")
    page.context.close()
