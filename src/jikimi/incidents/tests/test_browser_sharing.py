"""Sharing an event in a real browser: the owner's case worker opens "Share with another
organisation" on the event page, picks the organisation, gives a reason and shares; the other
organisation's case worker then reads the event with the "shared by" banner, the victim shared
with it named and the other one "not shared with you", and no form. Both pages pass the design
system's checks (console, CSP, layout, axe) in Korean and English, on a desktop and a phone."""

from __future__ import annotations

import pytest

from jikimi.core.tests.browser import (
    ALL_CASES,
    BROWSER_MARKS,
    PHONE,
    browser_fixture,  # noqa: F401 - the `browser` fixture
    check_page,
    new_page,
    sign_in,
)

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("locale", "viewport"), ALL_CASES)
def test_the_owner_shares_an_event_and_the_grantee_reads_it(
    live_server, staff, orgs, browser, settings, tmp_path, locale, viewport
):
    from jikimi.conftest import PASSWORD
    from jikimi.incidents.models import EventGrant
    from jikimi.incidents.tests.test_sharing import World

    settings.JIKIMI_HOME = tmp_path / "home"
    world = World(staff, orgs)
    code = world.event.code
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    english = locale.startswith("en")

    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, world.owner, PASSWORD, next_path=f"/incidents/{code}")
    page.click("#sharing summary")
    page.select_option("#id_organisation", str(world.beta.pk))
    page.fill("#id_reason", "공동 긴급청원 (joint urgent appeal)")
    check_page(page, problems, shot=f"incidents-share-form-{tag}")
    page.click("#sharing form.stack button[type=submit]")
    page.wait_for_selector("ul.messages li.success")
    grant = EventGrant.objects.get()
    assert grant.to_organisation == world.beta and grant.revoked_at is None
    sharing = page.locator("#sharing").inner_text()
    assert world.beta.name in sharing and "공동 긴급청원" in sharing
    check_page(page, problems, shot=f"incidents-share-granted-{tag}")

    other = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(other, base, world.outsider, PASSWORD, next_path=f"/incidents/{code}")
    banner = other.locator("#shared-banner").inner_text()
    assert world.alpha.name in banner
    acts = other.locator("table.acts").inner_text()
    assert world.shared.code in acts and "Kim Shared" in acts
    assert world.private.code not in acts and "Pak Private" not in acts
    hidden = "a victim not shared with you" if english else "귀 기관에 공유되지 않은 피해자"
    assert hidden in acts
    assert other.locator("#sharing").count() == 0 and other.locator("#id_file").count() == 0
    check_page(other, problems, shot=f"incidents-shared-grantee-{tag}")
    # The act list marks the acts of the shared event ("Shared with you").
    other.goto(f"{base}/incidents/")
    listed = other.locator("table.acts").inner_text()
    assert ("Shared with you" if english else "공유받음") in listed
    assert hidden in listed and world.private.code not in listed
    check_page(other, problems, shot=f"incidents-acts-shared-{tag}")
