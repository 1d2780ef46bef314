"""The administration pages in a real browser: an administrator invites a member of staff,
who opens the e-mailed link, chooses a password, sets up an authenticator from the page and
signs in; the administrator then resets that second factor after typing their password
again. And every administration page passes the design system's checks (check_page) in
Korean on a desktop and English on a phone."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import TOTP

from jikimi.conftest import PASSWORD
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

NEW_PASSWORD = "a long and unusual passphrase 42"  # noqa: S105 - synthetic
LINK = re.compile(r"https?://[^\s]+/accounts/enrol/[A-Za-z0-9_-]+")


def _code(key_text: str, *, later: int = 0) -> str:
    """What an authenticator app shows for the key typed from the page (`later` steps on: a
    code already used is refused)."""
    secret = key_text.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return str(TOTP(key, 30, 0, 6, later).token()).zfill(6)


def _mailed_link(smtp, count: int) -> str:
    from jikimi.notify import services as notify

    notify.deliver_all()
    mails = smtp.wait_for(count)
    assert len(mails) == count
    return LINK.search(mails[-1].get_content()).group(0)


def _enrol(page, link: str, *, password: str, invite: bool, shots: str = "") -> str:
    """Open the link, give the password, set up the app from the key on the page, finish.
    Returns the key (the app's secret)."""
    page.goto(link)
    if shots:
        check_page(page, [], shot=f"admin-enrol-password-{shots}")
    page.fill("input[name=password]", password)
    if invite:
        page.fill("input[name=password_again]", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_selector("img.qr")
    if shots:
        check_page(page, [], shot=f"admin-enrol-code-{shots}")
    key = page.inner_text("[data-testid=manual-key]")
    page.fill("input[name=code]", _code(key))
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/login$"))
    return key


def _sign_in_with_key(page, base: str, username: str, password: str, key: str) -> None:
    page.goto(f"{base}/accounts/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", _code(key, later=1))
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r".*/people/$"))


def test_an_admin_invites_and_later_resets_a_second_factor(
    live_server, staff, browser, smtp, settings
):
    from jikimi.accounts import services
    from jikimi.accounts.models import User
    from jikimi.audit.models import AuditEvent

    settings.JIKIMI_BASE_URL = live_server.url
    base = live_server.url
    problems: list[str] = []
    admin_page = new_page(browser, problems, locale="ko-KR")
    sign_in(admin_page, base, staff["admin"], PASSWORD)
    admin_page.click("nav.mainnav >> text=관리")
    admin_page.wait_for_url(re.compile(r".*/admin/$"))
    admin_page.click("a.button >> text=직원 초대")
    admin_page.fill("input[name=username]", "new-worker")
    admin_page.fill("input[name=email]", "new-worker@example.org")
    admin_page.select_option("select[name=role]", "caseworker")
    admin_page.select_option("select[name=mail_language]", "ko")
    admin_page.click("form button[type=submit] >> text=초대 보내기")
    admin_page.wait_for_selector(".messages li.success")
    member = User.objects.get(username="new-worker")
    assert services.staff_status(member) == services.StaffStatus.INVITED

    # The invitee, in a browser of their own, from the e-mail.
    link = _mailed_link(smtp, 1)
    worker_page = new_page(browser, problems, locale="ko-KR")
    key = _enrol(worker_page, link, password=NEW_PASSWORD, invite=True)
    assert worker_page.locator(".messages li.success").count() == 1
    _sign_in_with_key(worker_page, base, "new-worker", NEW_PASSWORD, key)
    assert "new-worker" in worker_page.inner_text(".whoami")
    # The link was spent.
    spent = new_page(browser, [], locale="ko-KR")
    assert spent.goto(link).status == 404

    # The administrator resets the second factor: the password first.
    admin_page.goto(f"{base}/admin/staff/{member.pk}/")
    admin_page.click("button >> text=2단계 인증 초기화")
    admin_page.wait_for_url(re.compile(r".*/accounts/reauth\?next=.*"))
    admin_page.fill("input[name=password]", PASSWORD)
    admin_page.click("form.stack button[type=submit]")
    admin_page.wait_for_url(re.compile(rf".*/admin/staff/{member.pk}/$"))
    admin_page.click("button >> text=2단계 인증 초기화")
    admin_page.wait_for_selector(".messages li.success")
    assert services.totp_device(member) is None
    assert AuditEvent.objects.filter(
        action="user.second_factor_reset", object_ref=str(member.pk), actor_id=staff["admin"].pk
    ).exists()
    # The worker's session is over at once, and the e-mail tells them, with a new link.
    worker_page.goto(f"{base}/people/")
    assert worker_page.url.endswith("/accounts/login")
    reset_link = _mailed_link(smtp, 2)
    assert "초기화" in smtp.messages[-1]["Subject"]
    new_key = _enrol(worker_page, reset_link, password=NEW_PASSWORD, invite=False)
    assert new_key != key
    _sign_in_with_key(worker_page, base, "new-worker", NEW_PASSWORD, new_key)
    assert not problems, problems


CASES = TWO_CASES


@pytest.mark.parametrize(("locale", "viewport"), CASES)
def test_the_administration_pages_pass_the_page_checks(
    live_server, staff, orgs, browser, smtp, settings, locale, viewport
):
    from jikimi.accounts import services
    from jikimi.people import services as people

    settings.JIKIMI_BASE_URL = live_server.url
    base = live_server.url
    tag = f"{locale[:2]}-{'phone' if viewport is PHONE else 'desktop'}"
    admin = staff["admin"]
    # Something in every list: a person shared each way, an invited and a deactivated member.
    ours = people.create_person(staff["caseworker"], name="박성철", birth_year=1975)
    people.record_consent(staff["caseworker"], ours, purpose="sharing", granted=True)
    people.grant_access(staff["caseworker"], ours, orgs[1], "사례 이관 (case transfer)")
    theirs = people.create_person(staff["outsider"], name="김영희", birth_year=1982)
    people.record_consent(staff["outsider"], theirs, purpose="sharing", granted=True)
    people.grant_access(staff["outsider"], theirs, orgs[0], "공동 지원")
    invited = services.invite_staff(
        admin, username="invited-worker", email="invited@example.org", role="analyst"
    )
    services.deactivate(admin, staff["auditor"], reauthenticated=True)

    problems: list[str] = []
    page = new_page(browser, problems, locale=locale, viewport=viewport)
    sign_in(page, base, admin, PASSWORD)
    for path, name in [
        ("/admin/", "index"),
        ("/admin/staff/", "staff"),
        ("/admin/staff/invite", "invite"),
        (f"/admin/staff/{staff['caseworker'].pk}/", "member"),
        (f"/admin/staff/{invited.pk}/", "member-invited"),
        (f"/admin/staff/{staff['auditor'].pk}/", "member-deactivated"),
        ("/admin/settings", "settings"),
        ("/admin/grants/", "grants"),
    ]:
        page.goto(base + path)
        check_page(page, problems, shot=f"admin-{name}-{tag}")
    # A mistake on a form names the field by its label.
    page.goto(base + "/admin/settings")
    page.fill("input[name=suppress_below]", "1")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".field-error")
    # The refused form answers 400 on purpose; Chromium logs that as a console error.
    assert all("400" in p for p in problems), problems
    problems.clear()
    check_page(page, problems, shot=f"admin-settings-error-{tag}")
    # The invitee's pages (no sign-in), and a link that does not work.
    guest = new_page(browser, problems, locale=locale, viewport=viewport)
    link = _mailed_link(smtp, 1)
    guest.goto(link)
    check_page(guest, problems, shot=f"admin-enrol-password-{tag}")
    guest.fill("input[name=password]", NEW_PASSWORD)
    guest.fill("input[name=password_again]", NEW_PASSWORD)
    guest.click("form.stack button[type=submit]")
    guest.wait_for_selector("img.qr")
    check_page(guest, problems, shot=f"admin-enrol-code-{tag}")
    bad = new_page(browser, [], locale=locale, viewport=viewport)
    assert bad.goto(base + "/accounts/enrol/not-a-real-link").status == 404
    check_page(bad, [], shot=f"admin-enrol-invalid-{tag}")
