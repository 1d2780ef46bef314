"""End to end in a real Chromium: an analyst estimates how many people were never documented
from the organisation's records, three lists whose people are joined by same-person links in
the database; reads the estimate with its interval, method, model and warnings and the
overlap chart; stratifies by year of defection; and exports the capture-history table, which
asks for the password again first. Screenshots go to bench/out/ui/.

Run: JIKIMI_TESTING=1 .venv/bin/pytest -m browser src/jikimi/estimates/tests/test_browser.py
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    SHOTS,
    TWO_CASES,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
    sign_in,
)

from .mse_db import build, table_path

pytestmark = BROWSER_MARKS

MY3 = "dga_madigan_york_3list.csv"  # 626 people on lists A, B, C


@pytest.fixture
def linked(orgs):
    """Madigan & York's table as one person row per list, joined again by live same-person
    links; each individual defected in 2010 or 2015, and one individual's rows disagree."""
    from jikimi.linkage.models import LinkMethod, PersonLink
    from jikimi.people.models import Person

    built = build(orgs[0], MY3, split=True)
    by_individual: dict[str, list] = {}
    for person in built.people:
        by_individual.setdefault(built.truth[person.id], []).append(person)
    links = []
    years: dict[int, list] = {2010: [], 2015: []}
    for n, group in enumerate(by_individual.values()):
        years[2010 if n % 2 else 2015].extend(p.pk for p in group)
        for a, b in zip(group, group[1:], strict=False):
            a, b = sorted((a, b), key=lambda p: p.pk)
            links.append(PersonLink(person_a=a, person_b=b, method=LinkMethod.REVIEW))
    PersonLink.objects.bulk_create(links)
    for year, ids in years.items():
        Person.objects.filter(pk__in=ids).update(defection_year=year)
    torn = next(g for g in by_individual.values() if len(g) == 3)
    Person.objects.filter(pk=torn[0].pk).update(defection_year=2012)
    return built


def test_it_runs_the_analyst_journey_in_a_browser(live_server, staff, linked, browser):
    from jikimi.conftest import PASSWORD
    from jikimi.estimates.services import estimate_population
    from jikimi.estimates.tables import read_capture_csv

    base = live_server.url
    problems: list[str] = []
    expected = estimate_population(read_capture_csv(table_path(MY3)), method="stepwise")

    page = new_page(browser, problems)
    sign_in(page, base, staff["analyst"], PASSWORD, next_path="/estimates/")
    assert page.locator("html").get_attribute("lang") == "ko"
    for name in ("A", "B", "C"):
        page.check(f"input[name=lists][value={name}]")
    page.click("form.estimate-form button[type=submit]")
    page.wait_for_selector("section.estimate-result")

    # The figure, its interval, method and model, from the linked individuals.
    result = page.locator("section.estimate-result")
    assert page.locator("[data-observed]").inner_text() == "626"
    assert page.locator("[data-estimate]").inner_text() == f"{expected.estimate:.1f}"
    low, high = expected.interval
    assert page.locator("[data-interval]").inner_text() == f"{low:.1f} – {high:.1f}"
    facts = result.inner_text()
    # The method and model in Korean; the interval says it is conditional on the chosen model.
    assert page.locator("[data-method]").inner_text() == "단계적 로그선형 모델 (SparseMSE)"
    assert page.locator("[data-model]").inner_text().startswith("로그선형 모델")
    assert "선택한 모델을 조건으로" in page.locator("[data-conditional]").inner_text()
    assert re.search(r"626\s*\(\D*" + str(len(linked.people)), facts), facts

    # The overlap chart: one bar per non-empty pattern, a dot per list in it.
    chart = page.locator("svg.upset")
    assert chart.is_visible()
    assert chart.locator("rect.bar").count() == 7
    assert chart.locator("circle.dot.on").count() == 3 + 3 * 2 + 3
    assert chart.locator("rect.bar.suppressed").count() == 1  # A and B only: 4, shown as <5
    chart.screenshot(path=str(SHOTS / "21-estimates-upset.png"))
    page.screenshot(path=str(SHOTS / "20-estimates.png"), full_page=True)

    # Stratified by year of defection.
    page.select_option("select[name=stratify_by]", "defection_year")
    page.click("form.estimate-form button[type=submit]")
    page.wait_for_selector("table.strata")
    assert "stratify_by=defection_year" in page.url
    rows = page.locator("table.strata tbody tr")
    strata = {
        row.locator("th").inner_text(): int(row.locator("td.num").first.inner_text())
        for row in rows.all()
    }
    assert strata == {"2010": 313, "2015": 313}, strata
    for row in rows.all():  # each stratum has its own estimate and interval
        assert re.fullmatch(r"[\d.,]+ – [\d.,]+", row.locator("td[data-interval]").inner_text())
    # The individual whose rows disagree on the year is a warning, in Korean.
    warnings = page.locator(".estimate-warnings li").all_inner_texts()
    assert any("연결된 개인 1명" in w and "탈북 연도" in w for w in warnings), warnings
    page.screenshot(path=str(SHOTS / "22-estimates-strata.png"), full_page=True)

    # The export asks for the password first, then downloads the unsuppressed table.
    page.click("a[href^='/estimates/table.csv']")
    page.wait_for_selector("input[name=password]")
    assert "/accounts/reauth" in page.url
    page.fill("input[name=password]", PASSWORD)
    with page.expect_download() as download:
        page.click("form.stack button[type=submit]")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["A", "B", "C", "stratum", "count"]
    assert sum(int(r[4]) for r in rows[1:]) == 626
    assert {r[3] for r in rows[1:]} == {"2010", "2015"}
    page.context.close()

    assert not problems, problems


CASES = TWO_CASES  # both languages and both sizes; ALL_CASES doubled the run time


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_the_estimates_page_passes_the_page_checks(
    live_server, staff, linked, browser, locale, viewport
):
    """The design system's checks on the form, a stratified result (its strata table, overlap
    chart and capture-history table), in Korean and English on a desktop and on a phone."""
    from jikimi.conftest import PASSWORD

    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, staff["analyst"], PASSWORD, next_path="/estimates/")
    check_page(page, problems, shot=f"estimates-form-{tag}")
    page.goto(f"{base}/estimates/?lists=A&lists=B&lists=C&method=stepwise&level=0.95"
              "&stratify_by=defection_year")  # fmt: skip
    page.wait_for_selector("table.strata")
    assert page.locator("table.strata tbody tr").count() == 2
    assert page.locator("[data-conditional]").is_visible()
    check_page(page, problems, shot=f"estimates-strata-{tag}")
    page.context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["ko-desktop", "ko-phone"])
def test_a_bootstrap_estimate_runs_as_a_job_and_its_page_shows_the_result(
    live_server, staff, linked, browser, viewport
):
    """The form starts a BCa bootstrap job; its page follows the progress by itself (htmx
    polls the status fragment) while the monitor's pass runs it, then shows the result."""
    from django.core.cache import cache

    from jikimi.conftest import PASSWORD
    from jikimi.estimates import jobs

    cache.clear()  # a result cached by the other case would answer inline, with no job
    base = live_server.url
    tag = "phone" if viewport is PHONE else "desktop"
    problems: list[str] = []
    page = new_page(browser, problems, locale="ko-KR", viewport=viewport)
    sign_in(page, base, staff["analyst"], PASSWORD, next_path="/estimates/")
    for name in ("A", "B", "C"):
        page.check(f"input[name=lists][value={name}]")
    page.select_option("select[name=interval]", "bootstrap")
    page.click("form.estimate-form button[type=submit]")
    page.wait_for_selector("#job-status[data-job-state=queued]")
    assert re.search(r"/estimates/jobs/[0-9a-f-]{36}/$", page.url)
    assert page.locator("progress").is_visible() and page.locator("a[data-refresh]").is_visible()
    check_page(page, problems, shot=f"estimates-job-waiting-ko-{tag}")
    for _ in range(600):  # the monitor's loop, here; the page polls on its own
        jobs.job_pass({})
        if page.locator("section.estimate-result").count():
            break
        page.wait_for_timeout(200)
    try:
        page.wait_for_selector("section.estimate-result", timeout=5000)
    finally:
        for run in list(jobs._running.values()):
            jobs._stop(run)
    assert page.locator("#job-status[data-job-state=done]").count() == 1
    assert "BCa" in page.locator("section.estimate-result").inner_text()
    assert re.fullmatch(r"[\d.,]+ – [\d.,]+", page.locator("[data-interval]").first.inner_text())
    check_page(page, problems, shot=f"estimates-job-done-ko-{tag}")
    page.goto(f"{base}/estimates/jobs/")
    assert page.locator("table.job-table tbody tr").count() == 1
    check_page(page, problems, shot=f"estimates-jobs-ko-{tag}")
    page.context.close()
