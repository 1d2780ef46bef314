"""The evidence pages in a real browser: a case worker attaches a file to an event, downloads
it (password again + a reason) and reads its custody log; each page passes the design
system's checks (console, CSP, layout, axe) in Korean on a desktop and in English on a phone."""

from __future__ import annotations

import re

import pytest

from jikimi.core.tests.browser import (
    BROWSER_MARKS,
    TWO_CASES,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("locale", "viewport"), TWO_CASES)
def test_attach_download_and_custody_in_the_browser(
    live_server, staff, browser, settings, tmp_path, locale, viewport
):
    from jikimi.conftest import PASSWORD
    from jikimi.incidents import services
    from jikimi.incidents.models import Evidence
    from jikimi.people.services import create_person

    settings.JIKIMI_HOME = tmp_path / "home"
    worker = staff["caseworker"]
    victim = create_person(worker, name="이지현", birth_year=1988, sex="F")
    event = services.record_event(
        worker,
        title="두만강 다리 근처 체포",
        date="2018-06",
        place="투먼",
        acts=[{"act_type": "arrest", "victim": victim.code}],
    )
    base = live_server.url
    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    section = f"/incidents/{event.code}/evidence/"
    sign_in(page, base, worker, PASSWORD, next_path=section)
    shot = f"{locale[:2]}-{'phone' if viewport['width'] < 600 else 'desktop'}"
    check_page(page, problems, shot=f"incidents-evidence-empty-{shot}")

    data = b"%PDF-1.4 synthetic scan of a summons " * 2000
    page.set_input_files(
        "#id_file",
        files=[{"name": "소환장 사본.pdf", "mimeType": "application/pdf", "buffer": data}],
    )
    page.fill("#id_description", "가족이 보낸 사진")
    page.select_option("#id_act", str(event.acts.get().pk))
    page.click("#evidence form .form-actions button[type=submit]")
    page.wait_for_selector("ul.messages li.success")
    item = Evidence.objects.get()
    assert item.size == len(data) and item.act_id == event.acts.get().pk
    body = page.locator("#evidence").inner_text()
    assert "소환장 사본.pdf" in body and item.sha256[:12] in body
    check_page(page, problems, shot=f"incidents-evidence-list-{shot}")

    page.click(f"a[href='{section}{item.pk}/download']")
    page.wait_for_selector("#id_password")
    check_page(page, problems, shot=f"incidents-evidence-download-{shot}")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_reason", "변호인 제출용")
    with page.expect_download() as info:
        page.click("form .form-actions button[type=submit]")
    download = info.value
    assert download.suggested_filename == "소환장 사본.pdf"
    assert open(download.path(), "rb").read() == data  # noqa: PTH123, SIM115

    page.goto(f"{base}{section}{item.pk}/custody")
    table = page.locator("table").inner_text()
    assert "변호인 제출용" in table
    assert len(re.findall(r"caseworker-a", table)) == 3  # upload, the listing, download
    check_page(page, problems, shot=f"incidents-evidence-custody-{shot}")
    assert not problems, problems
