"""Organisation administration (accounts.services): invitations, roles, deactivation,
second-factor resets, settings — each refused across organisations, audited, and the
dangerous ones only after a fresh re-authentication."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from rest_framework.test import APIClient

from jikimi.accounts import services
from jikimi.accounts.models import AccountLink, ApiToken, EncryptedTOTPDevice, User
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.core.errors import InvalidInput, NotFound
from jikimi.notify import services as notify
from jikimi.notify.models import OutboxMessage

NEW_PASSWORD = "a long and unusual passphrase 42"  # noqa: S105 - synthetic


def _invite(admin, username="new-worker", role="caseworker", **kw):
    return services.invite_staff(
        admin, username=username, email=f"{username}@example.org", role=role, **kw
    )


def _events(action: str, ref) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_ref=str(ref)))


def _token_of(message: OutboxMessage) -> str:
    return re.search(r"/accounts/enrol/([A-Za-z0-9_-]+)", message.body).group(1)


def _mail_to(user) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.all() if m.recipient == user.email]


def _next_code(device: EncryptedTOTPDevice) -> str:
    """The code an authenticator shows one step later: a code already used is refused."""
    return str(TOTP(device.bin_key, device.step, 0, device.digits, device.drift + 1).token()).zfill(
        device.digits
    )


def _enrol(client, token: str, *, password: str = NEW_PASSWORD, invite: bool = True):
    url = reverse("accounts:enrol", args=[token])
    data = {"step": "password", "password": password}
    if invite:
        data["password_again"] = password
    page = client.post(url, data)
    assert page.status_code == 200, page.content.decode()
    pending = client.session["jikimi_enrol_pending"]  # the device the page shows as a QR code
    device = EncryptedTOTPDevice.objects.get(uid=pending["device"])
    return client.post(url, {"step": "code", "code": device.current_token()})


# --- Who administers ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "caseworker", "analyst", "auditor"])
def test_only_an_admin_administers(staff, role):
    with pytest.raises(NotFound):
        services.members(staff[role])
    with pytest.raises(NotFound):
        _invite(staff[role])
    with pytest.raises(NotFound):
        services.update_organisation_settings(
            staff[role], time_zone="UTC", suppress_below=5, sms_monthly_quota=None
        )


@pytest.mark.django_db
def test_an_admin_of_another_organisation_gets_404_for_our_users(client, login, staff, orgs):
    beta_admin, _ = services.create_staff("admin-b", PASSWORD, orgs[1], "admin")
    target = staff["caseworker"]
    for call in (
        lambda: services.get_member(beta_admin, target.pk),
        lambda: services.change_role(beta_admin, target, "analyst"),
        lambda: services.deactivate(beta_admin, target, reauthenticated=True),
        lambda: services.reset_second_factor(beta_admin, target, reauthenticated=True),
        lambda: services.change_email(beta_admin, target, "x@example.org"),
    ):
        with pytest.raises(NotFound):
            call()
    assert staff["caseworker"].pk not in set(
        services.members(beta_admin).values_list("pk", flat=True)
    )
    login(client, beta_admin)
    assert client.get(reverse("orgadmin:member", args=[target.pk])).status_code == 404
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    response = client.post(reverse("orgadmin:member", args=[target.pk]), {"action": "deactivate"})
    assert response.status_code == 404
    target.refresh_from_db()
    assert target.is_active and target.role == "caseworker"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "caseworker", "auditor"])
def test_the_pages_are_404_for_everyone_but_admins(client, login, staff, role):
    login(client, staff[role])
    for url in (
        "/admin/",
        "/admin/staff/",
        "/admin/staff/invite",
        "/admin/settings",
        "/admin/grants/",
    ):
        assert client.get(url).status_code == 404, url


# --- Invitations ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_invitation_makes_an_unusable_account_and_a_hashed_one_time_link(staff):
    admin = staff["admin"]
    member = _invite(admin)
    assert member.organisation_id == admin.organisation_id
    assert not member.has_usable_password()
    assert services.totp_device(member) is None
    assert services.staff_status(member) == services.StaffStatus.INVITED
    (message,) = _mail_to(member)
    token = _token_of(message)
    link = AccountLink.objects.get(user=member)
    assert link.token_hash == services.hash_api_token(token) and token not in link.token_hash
    assert link.expires_at - link.created_at == timedelta(hours=72)
    (event,) = _events("user.invite", member.pk)
    assert event.actor_id == admin.pk and event.detail["role"] == "caseworker"
    with pytest.raises(services.LoginFailed):
        services.check_password(None, member.username, "")


@pytest.mark.django_db
def test_an_invitation_names_the_field_of_each_mistake(staff):
    with pytest.raises(InvalidInput) as caught:
        services.invite_staff(
            staff["admin"], username="caseworker-a", email="not an address", role="boss"
        )
    assert set(caught.value.errors) == {"username", "email", "role"}


@pytest.mark.django_db
def test_inviting_an_admin_needs_the_password_again(staff):
    with pytest.raises(services.ReauthRequired):
        _invite(staff["admin"], role="admin")
    assert not User.objects.filter(username="new-worker").exists()
    assert _invite(staff["admin"], role="admin", reauthenticated=True).role == "admin"


@pytest.mark.django_db
def test_the_link_sets_the_password_and_the_authenticator_once(client, staff):
    member = _invite(staff["admin"])
    token = _token_of(_mail_to(member)[0])
    url = reverse("accounts:enrol", args=[token])
    assert client.get(url).status_code == 200
    assert EncryptedTOTPDevice.objects.filter(user=member).count() == 0  # GET changes nothing
    weak = client.post(url, {"step": "password", "password": "short", "password_again": "short"})
    assert weak.status_code == 400
    response = _enrol(client, token)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD) and member.password.startswith("argon2$")
    device = services.totp_device(member)
    assert device is not None and EncryptedTOTPDevice.objects.filter(user=member).count() == 1
    # The account now works: password, then a code.
    services.check_password(None, member.username, NEW_PASSWORD)
    services.check_second_factor(member, _next_code(device))
    assert _events("user.enrolled", member.pk)
    # The link worked once.
    assert client.get(url).status_code == 404
    other = client.__class__()
    assert (
        other.post(
            url, {"step": "password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_the_link_expires(client, staff):
    member = _invite(staff["admin"])
    token = _token_of(_mail_to(member)[0])
    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1)):
        assert client.get(reverse("accounts:enrol", args=[token])).status_code == 404
        with pytest.raises(services.LinkRefused):
            services.start_enrolment(token, NEW_PASSWORD, NEW_PASSWORD)


@pytest.mark.django_db
def test_a_new_link_replaces_the_old_one(client, staff):
    member = _invite(staff["admin"])
    old = _token_of(_mail_to(member)[0])
    services.resend_link(staff["admin"], member)
    assert client.get(reverse("accounts:enrol", args=[old])).status_code == 404
    new = [_token_of(m) for m in _mail_to(member) if _token_of(m) != old]
    assert len(new) == 1 and _enrol(client, new[0]).status_code == 302
    assert _events("user.invite_resend", member.pk)


@pytest.mark.django_db
def test_a_wrong_code_spends_nothing(client, staff):
    member = _invite(staff["admin"])
    token = _token_of(_mail_to(member)[0])
    url = reverse("accounts:enrol", args=[token])
    client.post(url, {"step": "password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert client.post(url, {"step": "code", "code": "000000"}).status_code == 400
    member.refresh_from_db()
    assert not member.has_usable_password() and services.totp_device(member) is None
    assert AccountLink.objects.get(user=member).used_at is None


# --- Roles and the last administrator ------------------------------------------------------


@pytest.mark.django_db
def test_a_role_change_is_audited_and_a_new_admin_needs_the_password_again(staff):
    admin, worker = staff["admin"], staff["caseworker"]
    services.change_role(admin, worker, "supervisor")
    worker.refresh_from_db()
    assert worker.role == "supervisor"
    (event,) = _events("user.role_change", worker.pk)
    assert event.detail == {"old": "caseworker", "new": "supervisor"}
    with pytest.raises(services.ReauthRequired):
        services.change_role(admin, worker, "admin")
    services.change_role(admin, worker, "admin", reauthenticated=True)
    worker.refresh_from_db()
    assert worker.role == "admin"


@pytest.mark.django_db
def test_the_last_admin_cannot_demote_or_deactivate_themselves(staff):
    admin = staff["admin"]
    with pytest.raises(InvalidInput):
        services.change_role(admin, admin, "supervisor")
    with pytest.raises(InvalidInput):
        services.deactivate(admin, admin, reauthenticated=True)
    admin.refresh_from_db()
    assert admin.role == "admin" and admin.is_active
    # With a second active administrator, stepping down is allowed.
    services.change_role(admin, staff["supervisor"], "admin", reauthenticated=True)
    services.change_role(admin, admin, "supervisor")
    admin.refresh_from_db()
    assert admin.role == "supervisor"


@pytest.mark.django_db
def test_a_deactivated_admin_does_not_count_as_the_other_admin(staff):
    admin, other = staff["admin"], staff["supervisor"]
    services.change_role(admin, other, "admin", reauthenticated=True)
    services.deactivate(admin, other, reauthenticated=True)
    with pytest.raises(InvalidInput):
        services.deactivate(admin, admin, reauthenticated=True)


# --- Deactivation ------------------------------------------------------------------------


@pytest.mark.django_db
def test_deactivation_needs_the_password_again_and_stops_sessions_and_tokens_at_once(
    client, login, staff, api_token
):
    admin, worker = staff["admin"], staff["caseworker"]
    key = api_token(worker)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/people/").status_code == 200
    login(client, worker)
    assert client.get("/people/").status_code == 200
    with pytest.raises(services.ReauthRequired):
        services.deactivate(admin, worker)
    services.deactivate(admin, worker, reauthenticated=True)
    response = client.get("/people/")
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    assert api.get("/api/people/").status_code in (401, 403)
    assert not ApiToken.objects.filter(user=worker, revoked_at__isnull=True).exists()
    (event,) = _events("user.deactivate", worker.pk)
    assert event.actor_id == admin.pk and event.detail["api_tokens_revoked"] == 1
    services.reactivate(admin, worker)
    worker.refresh_from_db()
    assert worker.is_active and _events("user.reactivate", worker.pk)
    assert api.get("/api/people/").status_code in (401, 403)  # old tokens stay revoked


@pytest.mark.django_db
def test_the_page_asks_for_the_password_before_a_deactivation(client, login, staff):
    admin, worker = staff["admin"], staff["caseworker"]
    login(client, admin)
    url = reverse("orgadmin:member", args=[worker.pk])
    response = client.post(url, {"action": "deactivate"})
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:reauth")
    )
    worker.refresh_from_db()
    assert worker.is_active
    client.post(reverse("accounts:reauth"), {"password": PASSWORD, "next": url})
    assert client.post(url, {"action": "deactivate"}).status_code == 302
    worker.refresh_from_db()
    assert not worker.is_active


# --- Second-factor reset -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_factor_reset_is_reauthenticated_audited_and_told_by_email(client, login, staff):
    admin, worker = staff["admin"], staff["caseworker"]
    User.objects.filter(pk=worker.pk).update(email="worker@example.org")
    worker.refresh_from_db()
    login(client, worker)
    with pytest.raises(services.ReauthRequired):
        services.reset_second_factor(admin, worker)
    assert services.totp_device(worker) is not None
    services.reset_second_factor(admin, worker, reauthenticated=True)
    assert services.totp_device(worker) is None
    assert services.staff_status(worker) == services.StaffStatus.NO_SECOND_FACTOR
    # The session signed in with the old device stops at once.
    response = client.get("/people/")
    assert response.status_code == 302 and "/accounts/login" in response["Location"]
    (event,) = _events("user.second_factor_reset", worker.pk)
    assert event.actor_id == admin.pk and event.detail["devices"] == 1
    (message,) = _mail_to(worker)
    assert "reset" in message.subject or "초기화" in message.subject
    # The link asks for the current password (under the lock-out), not a new one.
    token = _token_of(message)
    other = client.__class__()
    url = reverse("accounts:enrol", args=[token])
    assert other.post(url, {"step": "password", "password": "wrong!"}).status_code == 400
    worker.refresh_from_db()
    assert worker.failed_logins == 1
    assert _enrol(other, token, password=PASSWORD, invite=False).status_code == 302
    assert services.totp_device(worker) is not None
    worker.refresh_from_db()
    assert worker.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_reset_needs_an_email_address(staff):
    with pytest.raises(InvalidInput) as caught:
        services.reset_second_factor(staff["admin"], staff["caseworker"], reauthenticated=True)
    assert "email" in caught.value.errors
    assert services.totp_device(staff["caseworker"]) is not None


# --- Settings ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_settings_are_validated_audited_and_read_through_the_service(staff, orgs):
    admin, alpha = staff["admin"], orgs[0]
    assert services.time_zone_of(alpha) == "Asia/Seoul"
    assert services.suppression_threshold(alpha.pk) == 5
    assert services.sms_monthly_quota(alpha) is None
    with pytest.raises(InvalidInput) as caught:
        services.update_organisation_settings(
            admin, time_zone="Mars/Olympus", suppress_below=1, sms_monthly_quota="-3"
        )
    assert set(caught.value.errors) == {"time_zone", "suppress_below", "sms_monthly_quota"}
    services.update_organisation_settings(
        admin, time_zone="Europe/London", suppress_below=10, sms_monthly_quota=200
    )
    assert services.time_zone_of(alpha.pk) == "Europe/London"
    alpha.refresh_from_db()
    assert services.suppression_threshold(alpha) == 10
    assert services.sms_monthly_quota(alpha.pk) == 200
    assert services.time_zone_of(orgs[1]) == "Asia/Seoul"  # another organisation: unchanged
    (event,) = _events("organisation.settings_change", alpha.pk)
    assert event.detail["changed"] == {
        "time_zone": "Europe/London",
        "suppress_below": 10,
        "sms_monthly_quota": 200,
    }


@pytest.mark.django_db
def test_the_organisations_sms_quota_holds_messages_over_it(staff, orgs, gateway):
    alpha = orgs[0]
    notify.create_channel(alpha, kind="sms", name="gw", url=gateway.url)
    services.update_organisation_settings(
        staff["admin"], time_zone="Asia/Seoul", suppress_below=5, sms_monthly_quota=1
    )
    notify.enqueue(
        [
            notify.Notification(
                organisation_id=alpha.pk,
                kind="sms",
                recipient="+821012345678",
                subject="",
                body=f"test {i}",
                key=f"quota-test-{i}",
            )
            for i in range(2)
        ]
    )
    report = notify.deliver_due()
    assert (report.sent, report.blocked) == (1, 1)


@pytest.mark.django_db
def test_pages_show_times_in_the_organisations_time_zone(client, login, staff):
    from django.utils import timezone as tz

    admin = staff["admin"]
    services.update_organisation_settings(
        admin, time_zone="America/New_York", suppress_below=5, sms_monthly_quota=None
    )
    login(client, admin)
    seen = {}
    from django.test.signals import template_rendered

    template_rendered.connect(
        lambda **kw: seen.setdefault("zone", tz.get_current_timezone_name()),
        weak=False,
        dispatch_uid="tz-spy",
    )
    try:
        assert client.get("/admin/settings").status_code == 200
    finally:
        template_rendered.disconnect(dispatch_uid="tz-spy")
    assert seen["zone"] == "America/New_York"


# --- The pages ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_admin_invites_from_the_page_and_sees_the_staff(client, login, staff):
    login(client, staff["admin"])
    response = client.post(
        "/admin/staff/invite",
        {
            "username": "page-invitee",
            "email": "page@example.org",
            "role": "analyst",
            "mail_language": "en",
        },
    )
    member = User.objects.get(username="page-invitee")
    assert response.status_code == 302 and response["Location"] == f"/admin/staff/{member.pk}/"
    body = client.get("/admin/staff/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "page-invitee" in body and "caseworker-b" not in body
    (message,) = _mail_to(member)
    assert message.subject == "Your Jikimi account"  # in the language chosen for the e-mail


@pytest.mark.django_db
def test_the_page_names_the_field_of_a_mistake(client, login, staff):
    login(client, staff["admin"])
    response = client.post(
        "/admin/settings",
        {"time_zone": "Asia/Seoul", "suppress_below": "1", "sms_monthly_quota": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert (
        "Suppression threshold" in body
        and "suppress_below" not in body.split("<main")[1].split("name=")[0]
    )


# --- The e-mail, end to end -------------------------------------------------------------


@pytest.mark.django_db
def test_the_invitation_reaches_a_real_smtp_server_and_its_link_works_once(
    client, staff, smtp, settings
):
    settings.JIKIMI_BASE_URL = "http://testserver"
    member = _invite(staff["admin"], username="mailed-worker", language="ko")
    assert notify.deliver_all() == 1
    (mail,) = smtp.wait_for(1)
    assert mail["To"] == "mailed-worker@example.org"
    assert mail["Subject"] == "지킴이 계정 안내"
    text = mail.get_content()
    assert "mailed-worker" in text and "72" not in mail["Subject"]
    url = re.search(r"http://testserver(/accounts/enrol/[A-Za-z0-9_-]+)", text).group(1)
    token = url.rsplit("/", 1)[1]
    assert _enrol(client, token).status_code == 302
    assert client.get(url).status_code == 404  # once only
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


@pytest.mark.django_db
def test_the_one_time_link_leaves_the_outbox_once_delivered_and_a_retry_still_sends_it(
    client, staff, smtp, settings
):
    settings.JIKIMI_BASE_URL = "http://testserver"
    good = settings.JIKIMI_SMTP
    settings.JIKIMI_SMTP = {**good, "port": 1}  # nothing listens there: the delivery fails
    member = _invite(staff["admin"], username="retried-worker", language="ko")
    assert notify.deliver_all() == 0
    (message,) = _mail_to(member)
    assert message.state == "pending" and message.last_error
    token = _token_of(message)  # still there: the retry needs it
    settings.JIKIMI_SMTP = good
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert notify.deliver_all() == 1
    (mail,) = smtp.wait_for(1)
    assert f"/accounts/enrol/{token}" in mail.get_content()
    message.refresh_from_db()
    assert message.state == "sent"
    assert token not in message.body and "/accounts/enrol/" not in message.body
    assert (
        message.body == "retried-worker 에게 초대를 보냈습니다. 일회용 링크는 전달 후 지웠습니다."
    )
    from django.db import connection

    with connection.cursor() as cur:  # the ciphertext is new too, not just a changed cache
        cur.execute("SELECT body FROM notify_outboxmessage WHERE id = %s", [message.pk.hex])
        (sealed,) = cur.fetchone()
    reread = OutboxMessage.objects.get(pk=message.pk)
    assert reread.body.startswith("retried-worker") and token not in sealed
    assert _enrol(client, token).status_code == 302  # the mailed link works


@pytest.mark.django_db
def test_a_mailed_link_no_longer_works_after_72_hours(client, staff, smtp, settings):
    settings.JIKIMI_BASE_URL = "http://testserver"
    _invite(staff["admin"], username="late-worker")
    notify.deliver_all()
    (mail,) = smtp.wait_for(1)
    url = re.search(r"http://testserver(/accounts/enrol/[A-Za-z0-9_-]+)", mail.get_content())[1]
    with time_machine.travel(timezone.now() + timedelta(hours=71, minutes=59)):
        assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        assert client.get(url).status_code == 404
        page = client.post(
            url, {"step": "password", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        )
        assert page.status_code == 404


@pytest.mark.django_db
def test_the_link_token_is_in_no_table_in_clear(staff):
    from django.db import connection

    member = _invite(staff["admin"])
    token = _token_of(_mail_to(member)[0])
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            for row in cur.fetchall():
                assert token not in " ".join(map(str, row)), table


# --- Sharing grants (people's service, on the administration pages) -----------------------


@pytest.mark.django_db
def test_the_grants_list_shows_ours_and_theirs_and_nobody_elses(client, login, staff, orgs):
    from jikimi.people import services as people

    gamma = services.ensure_organisation("gamma", "Gamma Legal Aid")
    ours = people.create_person(staff["caseworker"], name="박성철")
    people.record_consent(staff["caseworker"], ours, purpose="sharing", granted=True)
    people.grant_access(staff["caseworker"], ours, orgs[1], "case transfer")
    theirs = people.create_person(staff["outsider"], name="김영희")
    people.record_consent(staff["outsider"], theirs, purpose="sharing", granted=True)
    people.grant_access(staff["outsider"], theirs, orgs[0], "joint support")
    elsewhere = people.create_person(staff["outsider"], name="이순자")
    people.record_consent(staff["outsider"], elsewhere, purpose="sharing", granted=True)
    people.grant_access(staff["outsider"], elsewhere, gamma, "not alpha's business")

    out, into = people.organisation_grants(staff["admin"])
    assert [(g.person_code, g.organisation, g.reason) for g in out] == [
        (ours.code, orgs[1].name, "case transfer")
    ]
    assert [(g.person_code, g.organisation, g.reason, g.granted_by) for g in into] == [
        (theirs.code, orgs[1].name, "", "")  # another organisation's reason and staff: theirs
    ]
    with pytest.raises(NotFound):
        people.organisation_grants(staff["caseworker"])
    login(client, staff["admin"])
    body = client.get("/admin/grants/").content.decode()
    assert ours.code in body and theirs.code in body and elsewhere.code not in body
    assert "joint support" not in body and "박성철" not in body


@pytest.mark.django_db
def test_the_page_says_why_a_reset_is_refused(client, login, staff):
    login(client, staff["admin"])
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    url = reverse("orgadmin:member", args=[staff["caseworker"].pk])
    response = client.post(url, {"action": "reset_second_factor"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "E-mail address: Add an e-mail address for this account first." in (
        response.content.decode()
    )
    assert services.totp_device(staff["caseworker"]) is not None
    # The last administrator, on the page: refused with the reason, nothing changed.
    me = reverse("orgadmin:member", args=[staff["admin"].pk])
    response = client.post(me, {"action": "deactivate"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 400
    assert "활성 관리자가 한 명도 남지 않게 됩니다" in response.content.decode()
    response = client.post(me, {"action": "role", "role": "analyst"}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 400
    staff["admin"].refresh_from_db()
    assert staff["admin"].is_active and staff["admin"].role == "admin"
