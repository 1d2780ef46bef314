"""Authentication, roles and access rules. Every door (pages, API, CLI) calls these."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jikimi.audit import services as audit
from jikimi.core.errors import NON_FIELD, AccessDenied, InvalidInput, NotFound
from jikimi.lib import timezones

from .models import (
    DEFAULT_SUPPRESS_BELOW,
    AccountLink,
    AccountLinkPurpose,
    ApiToken,
    EncryptedTOTPDevice,
    Organisation,
    Role,
    User,
)
from .signals import staff_email

log = logging.getLogger(__name__)


__all__ = ["AccessDenied"]  # re-exported: callers may still import it from here


class LoginFailed(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "invalid" or "locked": never says which part was wrong


# --- Organisations and users --------------------------------------------------------------


def ensure_organisation(slug: str, name: str | None = None) -> Organisation:
    org, _ = Organisation.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return org


def create_staff(
    username: str,
    password: str,
    organisation: Organisation,
    role: str,
    email: str = "",
    secret_hex: str | None = None,
) -> tuple[User, EncryptedTOTPDevice]:
    """Create a user with a confirmed TOTP device (two factors are mandatory for staff)."""
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, email=email, organisation=organisation, role=role
        )
        device = add_totp_device(user, secret_hex=secret_hex)
    audit.record(
        "user.create",
        object_type="user",
        object_ref=str(user.pk),
        organisation_id=organisation.pk,
        detail={"role": role},
    )
    return user, device


def add_totp_device(
    user: User, secret_hex: str | None = None, confirmed: bool = True
) -> EncryptedTOTPDevice:
    device = EncryptedTOTPDevice(user=user, name="authenticator", confirmed=confirmed)
    device.secret_hex = secret_hex or secrets.token_hex(20)
    device.save()
    return device


def totp_device(user: User) -> EncryptedTOTPDevice | None:
    return EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).first()


# --- Login: password, then second factor, with lock-out -----------------------------------


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def _claim_attempt(user: User) -> bool:
    """Reserve one of the attempts the lock-out allows, *before* the password or code is
    checked; False when the account is locked or its attempts are all taken.

    One conditional UPDATE, so it is atomic on every database: of any number of parallel
    attempts at most JIKIMI_LOCKOUT_ATTEMPTS are checked at all (counting after the check
    let 24 parallel guesses all be tried before the first failure was counted).
    """
    now = timezone.now()
    return bool(
        User.objects.filter(pk=user.pk, failed_logins__lt=settings.JIKIMI_LOCKOUT_ATTEMPTS)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .update(failed_logins=F("failed_logins") + 1)
    )


def _give_back_attempt(user: User) -> None:
    """The claimed attempt was right: it is no failure."""
    User.objects.filter(pk=user.pk, failed_logins__gt=0).update(
        failed_logins=F("failed_logins") - 1
    )


def _register_failure(user: User) -> None:
    """The claimed attempt was wrong (it stays counted): lock once the limit is reached.

    Conditional, so of several failures that reach the limit together one locks (and writes
    the audit row)."""
    until = timezone.now() + timedelta(minutes=settings.JIKIMI_LOCKOUT_MINUTES)
    locked = User.objects.filter(
        pk=user.pk, failed_logins__gte=settings.JIKIMI_LOCKOUT_ATTEMPTS
    ).update(locked_until=until, failed_logins=0)
    if locked:
        audit.record("login.locked", actor=user, object_type="user", object_ref=str(user.pk))


def _fail(user: User, action: str, **detail: str) -> NoReturn:
    """A claimed attempt was wrong: count it, audit it, refuse (never saying which part)."""
    _register_failure(user)
    audit.record(action, actor=user, object_type="user", object_ref=str(user.pk), detail=detail)
    raise LoginFailed("invalid")


def _spend_hashing_time(password: str) -> None:
    """Hash once, like a real check: a refusal without a check (unknown user, locked account)
    takes as long as a wrong password, so timing tells none of them apart."""
    make_password(password)


def check_password(request, username: str, password: str) -> User:
    """Login step 1. Raises LoginFailed("invalid"|"locked"); the login page answers both
    alike, so a locked account cannot be told from an unknown user name."""
    user = User.objects.filter(username=username).first()
    if user is None:
        _spend_hashing_time(password)
        audit.record("login.failed", detail={"step": "password", "unknown_user": True})
        raise LoginFailed("invalid")
    if not _claim_attempt(user):
        _spend_hashing_time(password)
        audit.record(
            "login.refused_locked", actor=user, object_type="user", object_ref=str(user.pk)
        )
        raise LoginFailed("locked")
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        _fail(user, "login.failed", step="password")
    _give_back_attempt(user)
    return authed


def check_second_factor(user: User, token: str) -> EncryptedTOTPDevice:
    """Login step 2. Raises LoginFailed. Success resets the failure count."""
    if not _claim_attempt(user):
        raise LoginFailed("locked")
    device = totp_device(user)
    if device is None or not device.verify_token(token):
        _fail(user, "login.failed", step="totp")
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    audit.record("login.ok", actor=user, object_type="user", object_ref=str(user.pk))
    return device


def check_password_for(user: User, password: str) -> None:
    """Re-authentication (DESIGN §3): the signed-in user's password again, under the same
    lock-out as the login — a locked account is refused even with the right password, and a
    wrong one counts. Raises LoginFailed("locked"|"invalid"); audited either way.

    Every re-authentication calls this: the page (`reauthenticate`), the API's password in
    the body (check-in policies), so there is one lock-out, not one per door.
    """
    if not user.is_authenticated:
        raise LoginFailed("invalid")
    if not _claim_attempt(user):
        _spend_hashing_time(password)
        audit.record(
            "reauth.refused_locked", actor=user, object_type="user", object_ref=str(user.pk)
        )
        raise LoginFailed("locked")
    if not password or not user.check_password(password):
        _fail(user, "reauth.failed")
    _give_back_attempt(user)
    audit.record("reauth.ok", actor=user, object_type="user", object_ref=str(user.pk))


def require_password_again(user: User, password: str, *, refusal: str) -> None:
    """An API action's re-authentication by the password in its body (`check_password_for`):
    nothing when it is right; else ReauthRequired saying the account is locked, or
    `refusal` (a translated sentence naming the field) for a wrong or missing password."""
    try:
        check_password_for(user, password)
    except LoginFailed as exc:
        raise ReauthRequired(
            gettext("This account is locked after too many failed attempts. Try again later.")
            if exc.reason == "locked"
            else refusal
        ) from None


REAUTH_SESSION_KEY = "jikimi_reauth_at"


def reauthenticate(request, password: str) -> None:
    """Sensitive actions ask for the password again (DESIGN §3); for the next
    JIKIMI_REAUTH_MINUTES the session counts as re-authenticated. Raises LoginFailed."""
    check_password_for(request.user, password)
    request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()


def recently_authenticated(request) -> bool:
    at = request.session.get(REAUTH_SESSION_KEY)
    if at is None:
        return False
    return timezone.now().timestamp() - at < settings.JIKIMI_REAUTH_MINUTES * 60


# --- API tokens ---------------------------------------------------------------------------

# 90 days: a token copied into a script, a CI secret or a laptop dies on its own within a
# quarter if nobody revokes it, and a working integration is asked for a new token only four
# times a year.
API_TOKEN_LIFETIME = timedelta(days=90)
# last_used_at is written at most once a minute: a write per request would double the cost of
# an API read and queue every caller behind SQLite's one writer.
API_TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# Ours are 55 characters, DRF's were 40; anything much longer is not a token.
API_TOKEN_MAX_LENGTH = 256


class ApiTokenRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        # "malformed", "unknown", "revoked", "expired" or "inactive" (the user is disabled)
        self.reason = reason


def hash_api_token(key: str) -> str:
    """SHA-256, unsalted: the token is 32 random bytes, so a fast hash loses nothing, and the
    hash is looked up as a unique column. The converting migration (0004) repeats this."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_token(user: User) -> tuple[ApiToken, str]:
    """Make a token for `user`; return the row and the token, which is never available again.

    The token is "jk_<8 hex>_<32 random bytes, base64url>". The first part is stored as the
    prefix the user sees to tell tokens apart; only the hash of the whole token is kept.
    """
    prefix = f"jk_{secrets.token_hex(4)}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            key_hash=hash_api_token(key),
            prefix=prefix,
            expires_at=timezone.now() + API_TOKEN_LIFETIME,
        )
        audit.record(
            "api_token.create",
            actor=user,
            object_type="api_token",
            object_ref=str(token.pk),
            detail={"expires_at": token.expires_at.isoformat()},
        )
    return token, key


def api_tokens(user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are not revoked, newest first (expired ones included)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens. Raises ApiToken.DoesNotExist for any other id."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(
                "api_token.revoke",
                actor=user,
                object_type="api_token",
                object_ref=str(token.pk),
            )
    return token


def authenticate_api_token(key: str) -> tuple[User, ApiToken]:
    """The user a presented token stands for. Raises ApiTokenRefused, after an audit row.

    The look-up by hash is the constant-time comparison: timing can reveal at most how much
    of the hash matched a stored one, and that says nothing about any token.
    """
    if not key or len(key) > API_TOKEN_MAX_LENGTH:
        _refuse_api_token("malformed")
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_api_token(key)).first()
    if token is None:
        _refuse_api_token("unknown")
    now = timezone.now()
    if token.revoked_at is not None:
        _refuse_api_token("revoked", token)
    if token.expires_at <= now:
        _refuse_api_token("expired", token)
    if not token.user.is_active:
        _refuse_api_token("inactive", token)
    stale = now - API_TOKEN_USE_RESOLUTION
    if token.last_used_at is None or token.last_used_at <= stale:
        # Conditional, so concurrent requests write once between them.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def _refuse_api_token(reason: str, token: ApiToken | None = None) -> NoReturn:
    """A refused token that was once real (revoked, expired, its user disabled) is audited
    against it. Garbage and unknown tokens are only logged: anyone on the internet can send
    them, and each audit row takes the chain's one lock — it must not be theirs to flood."""
    if token is None:
        log.warning("API token refused: %s", reason)
    else:
        audit.record(
            "api_token.refused",
            actor=token.user,
            object_type="api_token",
            object_ref=str(token.pk),
            detail={"reason": reason},
        )
    raise ApiTokenRefused(reason)


# --- Roles --------------------------------------------------------------------------------

STAFF_WRITE_ROLES = {Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER}


def require_role(user: User, *roles: str) -> None:
    if not user.is_authenticated or user.role not in roles:
        names = ", ".join(str(Role(r).label) for r in roles)
        raise AccessDenied(gettext("Role: this needs the role %(roles)s.") % {"roles": names})


def can_edit_people(user: User) -> bool:
    return user.role in STAFF_WRITE_ROLES


def can_read_audit(user: User) -> bool:
    return user.role in (Role.AUDITOR, Role.ADMIN)


# --- Organisation administration ----------------------------------------------------------
#
# Only an organisation's own administrators (role admin) administer it: every function below
# takes the acting administrator and finds the member among *their* organisation's users, so
# another organisation's user is NotFound (404), never a different answer. Every change is
# audited. The dangerous ones (a new administrator, a deactivation, a second-factor reset)
# need a fresh re-authentication (`reauthenticated`, from `recently_authenticated(request)`).

ACCOUNT_LINK_LIFETIME = timedelta(hours=72)
MAX_SUPPRESS_BELOW = 100


class ReauthRequired(AccessDenied):
    """The action needs the administrator's password again (see `reauthenticate`)."""


class LinkRefused(NotFound):
    """An account link that is unknown, used, expired, revoked, or whose user is disabled:
    all read the same (a guessed token learns nothing)."""


class StaffStatus:
    ACTIVE = "active"
    INVITED = "invited"  # no password yet: the invitation is not completed
    NO_SECOND_FACTOR = "no_second_factor"  # second factor reset: a new one not enrolled yet
    DEACTIVATED = "deactivated"


def require_admin(user) -> None:
    """The administration pages exist only for an organisation's administrators: anyone else
    gets 404, like any page they may not see."""
    if (
        not getattr(user, "is_authenticated", False)
        or not user.is_active
        or user.role != Role.ADMIN
        or user.organisation_id is None
    ):
        raise NotFound("administration")


def members(admin: User) -> QuerySet[User]:
    """The administrator's organisation's staff, with `has_device` (a confirmed TOTP)."""
    require_admin(admin)
    confirmed = EncryptedTOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        User.objects.filter(organisation_id=admin.org_id)
        .annotate(has_device=Exists(confirmed))
        .order_by("-is_active", "username")
    )


def get_member(admin: User, user_id) -> User:
    """One user of the administrator's organisation; any other id is NotFound."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        raise NotFound(str(user_id)) from None
    member = members(admin).filter(pk=pk).first()
    if member is None:
        raise NotFound(str(user_id))
    return member


def staff_status(member: User) -> str:
    if not member.is_active:
        return StaffStatus.DEACTIVATED
    has_device = getattr(member, "has_device", None)
    if has_device is None:
        has_device = totp_device(member) is not None
    if has_device:
        return StaffStatus.ACTIVE
    return StaffStatus.NO_SECOND_FACTOR if member.has_usable_password() else StaffStatus.INVITED


def _audit_admin(action: str, admin: User, member: User, **detail) -> None:
    audit.record(
        action,
        actor=admin,
        object_type="user",
        object_ref=str(member.pk),
        organisation_id=admin.org_id,
        detail=detail,
    )


def _require_fresh(reauthenticated: bool) -> None:
    if not reauthenticated:
        raise ReauthRequired(gettext("This action needs your password again."))


def _lock_organisation(organisation_id: int) -> None:
    """Serialise administrator changes within one organisation (PostgreSQL: a row lock;
    SQLite's IMMEDIATE transactions serialise writers anyway), so two administrators who
    demote each other at once cannot leave it with none."""
    list(Organisation.objects.select_for_update().filter(pk=organisation_id))


def _require_another_admin(member: User) -> None:
    """Refuse a change that would leave the organisation without an active administrator."""
    others = (
        User.objects.filter(organisation_id=member.org_id, role=Role.ADMIN, is_active=True)
        .exclude(pk=member.pk)
        .exists()
    )
    if not others:
        raise InvalidInput(
            {
                NON_FIELD: _(
                    "The organisation would have no active administrator. "
                    "Make someone else an administrator first."
                )
            }
        )


def _validate_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput({"role": _("Choose one of the roles in the list.")})
    return role


def _valid_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput({"email": _("Enter a valid e-mail address.")}) from None
    return email


def _link_url(token: str) -> str:
    return settings.JIKIMI_BASE_URL.rstrip("/") + reverse("accounts:enrol", args=[token])


def _new_link(member: User, purpose: str, admin: User | None) -> tuple[AccountLink, str]:
    """A new one-time link; any earlier open link of the member is revoked (one at a time)."""
    now = timezone.now()
    AccountLink.objects.filter(user=member, used_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    link = AccountLink.objects.create(
        user=member,
        purpose=purpose,
        token_hash=hash_api_token(token),
        created_by=admin,
        created_at=now,
        expires_at=now + ACCOUNT_LINK_LIFETIME,
    )
    return link, token


def _local_time(moment, organisation: Organisation) -> str:
    return timezone.localtime(moment, ZoneInfo(time_zone_of(organisation))).strftime(
        "%Y-%m-%d %H:%M %Z"
    )


def _email_member(
    member: User, *, subject: str, body: str, key: str, body_after_send: str = ""
) -> None:
    """Queue an e-mail to a member of staff in the caller's transaction, through notify's
    outbox (retried until delivered; a failing channel raises an alert). accounts sits below
    notify, so it asks through a signal that notify answers; nobody answering is an error,
    never an e-mail silently not sent."""
    answers = staff_email.send(
        sender=User,
        organisation_id=member.org_id,
        recipient=member.email,
        subject=subject,
        body=body,
        key=key,
        ref=f"user:{member.pk}",
        body_after_send=body_after_send,
    )
    if not any(queued for _receiver, queued in answers):
        raise RuntimeError("no e-mail outbox is connected (the notify app is not installed)")


def _member_language(member: User) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return member.preferred_language if member.preferred_language in codes else "ko"


def _organisation_of(member: User) -> Organisation:
    """The member's organisation (every staff account has one; see User.org_id)."""
    return Organisation.objects.get(pk=member.org_id)


def _send_invitation(member: User, link: AccountLink, token: str) -> None:
    org = _organisation_of(member)
    with translation.override(_member_language(member)):
        subject = gettext("Your Jikimi account")
        summary = gettext(
            "Invitation sent to %(username)s; its one-time link was removed after delivery."
        ) % {"username": member.username}
        body = gettext(
            "%(organisation)s has made a Jikimi account for you. Your user name is "
            "%(username)s.\n\n"
            "Open this link to choose your password and set up an authenticator app on your "
            "phone:\n%(url)s\n\n"
            "The link works once and expires on %(expires)s. If you did not expect this "
            "e-mail, ignore it."
        ) % {
            "organisation": org.name,
            "username": member.username,
            "url": _link_url(token),
            "expires": _local_time(link.expires_at, org),
        }
    _email_member(
        member, subject=subject, body=body, key=f"accounts:link:{link.pk}", body_after_send=summary
    )


def _send_reset_notice(member: User, link: AccountLink, token: str) -> None:
    org = _organisation_of(member)
    with translation.override(_member_language(member)):
        subject = gettext("The second factor of your Jikimi account was reset")
        summary = gettext(
            "Second-factor reset notice sent to %(username)s; its one-time link was removed "
            "after delivery."
        ) % {"username": member.username}
        body = gettext(
            "An administrator of %(organisation)s reset the second factor (the authenticator "
            "app) of your Jikimi account %(username)s on %(when)s. Codes from your old app "
            "no longer work.\n\n"
            "To set up an authenticator app again, open this link and enter your password:\n"
            "%(url)s\n\n"
            "The link works once and expires on %(expires)s. If you did not ask for this, "
            "tell your organisation's administrators at once."
        ) % {
            "organisation": org.name,
            "username": member.username,
            "when": _local_time(link.created_at, org),
            "url": _link_url(token),
            "expires": _local_time(link.expires_at, org),
        }
    _email_member(
        member, subject=subject, body=body, key=f"accounts:link:{link.pk}", body_after_send=summary
    )


def invite_staff(
    admin: User,
    *,
    username: str,
    email: str,
    role: str,
    language: str = "ko",
    reauthenticated: bool = False,
) -> User:
    """Make an account with no password and no second factor (so it cannot be used yet) and
    e-mail its one-time link, which sets both. A new administrator needs the password again."""
    require_admin(admin)
    errors: dict[str, Any] = {}
    username = (username or "").strip()
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        errors["username"] = _(
            "Use letters, digits and @ . + - _ only, with no spaces (at most 150)."
        )
    if not username or len(username) > 150:
        errors["username"] = _(
            "Use letters, digits and @ . + - _ only, with no spaces (at most 150)."
        )
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = _("This user name is taken. Choose another.")
    try:
        email = _valid_email(email)
    except InvalidInput as exc:
        errors.update(exc.errors)
    try:
        _validate_role(role)
    except InvalidInput as exc:
        errors.update(exc.errors)
    if language not in {code for code, _name in settings.LANGUAGES}:
        errors["language"] = _("Choose one of the languages in the list.")
    if errors:
        raise InvalidInput(errors)
    if role == Role.ADMIN:
        _require_fresh(reauthenticated)
    with transaction.atomic():
        member = User(
            username=username,
            email=email,
            organisation_id=admin.org_id,
            role=role,
            preferred_language=language,
        )
        member.set_unusable_password()
        member.save()
        link, token = _new_link(member, AccountLinkPurpose.INVITE, admin)
        _audit_admin("user.invite", admin, member, role=role, link=link.pk)
        _send_invitation(member, link, token)
    return member


def resend_link(admin: User, member: User) -> AccountLink:
    """A new link for a member who has not finished enrolling (the old one stops working)."""
    require_admin(admin)
    member = get_member(admin, member.pk)
    status = staff_status(member)
    if status not in (StaffStatus.INVITED, StaffStatus.NO_SECOND_FACTOR):
        raise InvalidInput({NON_FIELD: _("This account needs no new link.")})
    if not member.email:
        raise InvalidInput({"email": _("Add an e-mail address for this account first.")})
    with transaction.atomic():
        if status == StaffStatus.INVITED:
            link, token = _new_link(member, AccountLinkPurpose.INVITE, admin)
            _audit_admin("user.invite_resend", admin, member, link=link.pk)
            _send_invitation(member, link, token)
        else:
            link, token = _new_link(member, AccountLinkPurpose.RESET_SECOND_FACTOR, admin)
            _audit_admin("user.enrol_link_resend", admin, member, link=link.pk)
            _send_reset_notice(member, link, token)
    return link


def change_role(admin: User, member: User, role: str, *, reauthenticated: bool = False) -> User:
    require_admin(admin)
    member = get_member(admin, member.pk)
    _validate_role(role)
    if role == member.role:
        return member
    if role == Role.ADMIN:
        _require_fresh(reauthenticated)
    with transaction.atomic():
        _lock_organisation(admin.org_id)
        if member.role == Role.ADMIN and member.is_active:
            _require_another_admin(member)
        old = member.role
        User.objects.filter(pk=member.pk).update(role=role)
        member.role = role
        _audit_admin("user.role_change", admin, member, old=old, new=role)
    return member


def change_email(admin: User, member: User, email: str) -> User:
    require_admin(admin)
    member = get_member(admin, member.pk)
    email = _valid_email(email)
    if email == member.email:
        return member
    with transaction.atomic():
        User.objects.filter(pk=member.pk).update(email=email)
        member.email = email
        _audit_admin("user.email_change", admin, member)  # the address itself is not logged
    return member


def deactivate(admin: User, member: User, *, reauthenticated: bool = False) -> User:
    """The account stops working at once: its sessions (Django refuses an inactive user's
    session on the next request), its API tokens (revoked, so a reactivation does not bring
    them back) and its open links."""
    require_admin(admin)
    member = get_member(admin, member.pk)
    if not member.is_active:
        return member
    _require_fresh(reauthenticated)
    now = timezone.now()
    with transaction.atomic():
        _lock_organisation(admin.org_id)
        if member.role == Role.ADMIN:
            _require_another_admin(member)
        User.objects.filter(pk=member.pk).update(is_active=False)
        member.is_active = False
        tokens = ApiToken.objects.filter(user=member, revoked_at__isnull=True).update(
            revoked_at=now
        )
        AccountLink.objects.filter(
            user=member, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        _audit_admin("user.deactivate", admin, member, api_tokens_revoked=tokens)
    return member


def reactivate(admin: User, member: User) -> User:
    require_admin(admin)
    member = get_member(admin, member.pk)
    if member.is_active:
        return member
    with transaction.atomic():
        User.objects.filter(pk=member.pk).update(is_active=True, failed_logins=0, locked_until=None)
        member.is_active = True
        _audit_admin("user.reactivate", admin, member)
    return member


def reset_second_factor(admin: User, member: User, *, reauthenticated: bool = False) -> User:
    """Remove the member's authenticator (their signed-in sessions stop at the next request:
    the session's device is gone), e-mail them that it happened, with a one-time link to
    enrol a new one (which asks for their password)."""
    require_admin(admin)
    member = get_member(admin, member.pk)
    _require_fresh(reauthenticated)
    if not member.is_active:
        raise InvalidInput({NON_FIELD: _("This account is deactivated. Reactivate it first.")})
    if not member.email:
        raise InvalidInput({"email": _("Add an e-mail address for this account first.")})
    with transaction.atomic():
        removed, _detail = EncryptedTOTPDevice.objects.filter(user=member).delete()
        purpose = (
            AccountLinkPurpose.RESET_SECOND_FACTOR
            if member.has_usable_password()
            else AccountLinkPurpose.INVITE
        )
        link, token = _new_link(member, purpose, admin)
        _audit_admin("user.second_factor_reset", admin, member, devices=removed, link=link.pk)
        if purpose == AccountLinkPurpose.INVITE:
            _send_invitation(member, link, token)
        else:
            _send_reset_notice(member, link, token)
    return member


# --- The one-time link: set a password (invitation) and enrol an authenticator -------------


def open_link(token: str) -> AccountLink:
    """The open link this token names. Raises LinkRefused for anything else."""
    if not token or len(token) > API_TOKEN_MAX_LENGTH:
        raise LinkRefused("link")
    link = (
        AccountLink.objects.select_related("user", "user__organisation")
        .filter(token_hash=hash_api_token(token))
        .first()
    )
    if link is None or not link.is_open or not link.user.is_active:
        raise LinkRefused("link")
    return link


def start_enrolment(
    token: str, password: str, password_again: str = ""
) -> tuple[AccountLink, EncryptedTOTPDevice, str]:
    """Step 1 of the link's page. An invitation chooses the password (Django's validators;
    kept as an argon2 hash until the enrolment completes); a new authenticator after a reset
    asks for the current password, under the login's lock-out. Returns the link, a new
    unconfirmed TOTP device to show as a QR code, and the password hash ("" for a reset).
    Nothing about the account changes until `finish_enrolment`."""
    link = open_link(token)
    user = link.user
    if link.purpose == AccountLinkPurpose.INVITE:
        if password != password_again:
            raise InvalidInput({"password_again": _("The two passwords are not the same.")})
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput({"password": " ".join(exc.messages)}) from None
        password_hash = make_password(password)
    else:
        try:
            check_password_for(user, password)
        except LoginFailed as exc:
            message = (
                _("This account is locked after too many failed attempts. Try again later.")
                if exc.reason == "locked"
                else _("The password is not correct.")
            )
            raise InvalidInput({"password": message}) from None
        password_hash = ""
    device = add_totp_device(user, confirmed=False)
    return link, device, password_hash


def pending_device(link: AccountLink, device_uid: str) -> EncryptedTOTPDevice:
    device = EncryptedTOTPDevice.objects.filter(
        user=link.user, uid=device_uid, confirmed=False
    ).first()
    if device is None:
        raise LinkRefused("device")
    return device


def finish_enrolment(token: str, device_uid: str, code: str, password_hash: str) -> User:
    """Step 2: the code from the new app proves it was set up. Then, in one transaction, the
    link is spent (a conditional UPDATE: of two parallel finishes one wins), the device is
    confirmed and every other device removed, and an invitation's password is set."""
    link = open_link(token)
    device = pending_device(link, device_uid)
    if not device.verify_token(code):
        raise InvalidInput(
            {"code": _("The code is not correct. Enter the code the app shows now.")}
        )
    user = link.user
    now = timezone.now()
    with transaction.atomic():
        spent = AccountLink.objects.filter(
            pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not spent:
            raise LinkRefused("link")
        EncryptedTOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        EncryptedTOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        fields: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if link.purpose == AccountLinkPurpose.INVITE:
            if not password_hash:
                raise LinkRefused("password")
            fields["password"] = password_hash
        User.objects.filter(pk=user.pk).update(**fields)
        audit.record(
            "user.enrolled",
            actor=user,
            object_type="user",
            object_ref=str(user.pk),
            organisation_id=user.organisation_id,
            detail={"purpose": link.purpose, "link": link.pk},
        )
    user.refresh_from_db()
    return user


# --- The organisation's settings -----------------------------------------------------------


def time_zones() -> list[str]:
    """The choices of the settings page: places, not the Etc/ offsets or bare abbreviations."""
    return sorted(z for z in timezones.zones() if "/" in z and not z.startswith("Etc/"))


def _organisation(organisation) -> Organisation | None:
    if isinstance(organisation, Organisation):
        return organisation
    if organisation is None:
        return None
    return Organisation.objects.filter(pk=organisation).first()


def time_zone_of(organisation) -> str:
    """The organisation's time zone (an Organisation or its id); settings.TIME_ZONE without."""
    org = _organisation(organisation)
    zone = org.time_zone if org is not None else ""
    return zone if timezones.is_zone(zone) else settings.TIME_ZONE


def suppression_threshold(organisation) -> int:
    """Published counts below this are shown as "<N" (jikimi.lib.suppression)."""
    org = _organisation(organisation)
    if org is None or not org.suppress_below or org.suppress_below < 2:
        return DEFAULT_SUPPRESS_BELOW
    return org.suppress_below


def sms_monthly_quota(organisation) -> int | None:
    """The organisation's monthly SMS limit, None when it has none (notify then applies the
    channel's own quota, as before this setting existed)."""
    org = _organisation(organisation)
    return org.sms_monthly_quota if org is not None else None


def update_organisation_settings(
    admin: User, *, time_zone: str, suppress_below, sms_monthly_quota
) -> Organisation:
    require_admin(admin)
    errors: dict[str, Any] = {}
    if not timezones.is_zone(time_zone):
        errors["time_zone"] = _("Choose a time zone from the list.")
    try:
        suppress_below = int(suppress_below)
        if not 2 <= suppress_below <= MAX_SUPPRESS_BELOW:
            raise ValueError
    except (TypeError, ValueError):
        errors["suppress_below"] = _("Enter a whole number from 2 to %(max)d.") % {
            "max": MAX_SUPPRESS_BELOW
        }
    if sms_monthly_quota in (None, ""):
        sms_monthly_quota = None
    else:
        try:
            sms_monthly_quota = int(sms_monthly_quota)
            if sms_monthly_quota < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors["sms_monthly_quota"] = _(
                "Enter a whole number of messages (0 or more), or leave it empty for no limit."
            )
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        org = Organisation.objects.select_for_update().get(pk=admin.org_id)
        changed = {
            name: value
            for name, value in (
                ("time_zone", time_zone),
                ("suppress_below", suppress_below),
                ("sms_monthly_quota", sms_monthly_quota),
            )
            if getattr(org, name) != value
        }
        if changed:
            for name, value in changed.items():
                setattr(org, name, value)
            org.save(update_fields=list(changed))
            audit.record(
                "organisation.settings_change",
                actor=admin,
                object_type="organisation",
                object_ref=str(org.pk),
                organisation_id=org.pk,
                detail={"changed": changed},
            )
    return org
