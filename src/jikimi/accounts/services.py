"""Authentication, roles and access rules. Every door (pages, API, CLI) calls these."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from jikimi.audit import services as audit
from jikimi.core.errors import AccessDenied

from .models import ApiToken, EncryptedTOTPDevice, Organisation, Role, User

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
        raise AccessDenied(f"this needs one of the roles {', '.join(roles)}")


def can_edit_people(user: User) -> bool:
    return user.role in STAFF_WRITE_ROLES


def can_read_audit(user: User) -> bool:
    return user.role in (Role.AUDITOR, Role.ADMIN)
