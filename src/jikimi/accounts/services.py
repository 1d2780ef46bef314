"""Authentication, roles and access rules. Every door (pages, API, CLI) calls these."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jikimi.audit import services as audit

from .models import EncryptedTOTPDevice, Organisation, Role, SharingGrant, User


class AccessDenied(Exception):
    """The user may not do this. Views answer 404 for objects, 403 for actions."""


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


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > timezone.now()


def _register_failure(user: User) -> None:
    """Count a failure atomically; lock the account once the limit is reached."""
    User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins"])
    if user.failed_logins >= settings.JIKIMI_LOCKOUT_ATTEMPTS:
        until = timezone.now() + timedelta(minutes=settings.JIKIMI_LOCKOUT_MINUTES)
        User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
        audit.record("login.locked", actor=user, object_type="user", object_ref=str(user.pk))


def check_password(request, username: str, password: str) -> User:
    """Step 1. Raises LoginFailed("invalid"|"locked")."""
    user = User.objects.filter(username=username).first()
    if user is not None and _is_locked(user):
        audit.record(
            "login.refused_locked", actor=user, object_type="user", object_ref=str(user.pk)
        )
        raise LoginFailed("locked")
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        if user is not None:
            _register_failure(user)
            audit.record(
                "login.failed",
                actor=user,
                object_type="user",
                object_ref=str(user.pk),
                detail={"step": "password"},
            )
        else:
            audit.record("login.failed", detail={"step": "password", "unknown_user": True})
        raise LoginFailed("invalid")
    return authed


def check_second_factor(user: User, token: str) -> EncryptedTOTPDevice:
    """Step 2. Raises LoginFailed. Success resets the failure count."""
    if _is_locked(user):
        raise LoginFailed("locked")
    device = totp_device(user)
    if device is None or not device.verify_token(token):
        _register_failure(user)
        audit.record(
            "login.failed",
            actor=user,
            object_type="user",
            object_ref=str(user.pk),
            detail={"step": "totp"},
        )
        raise LoginFailed("invalid")
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    audit.record("login.ok", actor=user, object_type="user", object_ref=str(user.pk))
    return device


REAUTH_SESSION_KEY = "jikimi_reauth_at"


def reauthenticate(request, password: str) -> bool:
    """Sensitive actions ask for the password again (DESIGN §3)."""
    user = request.user
    if user.check_password(password):
        request.session[REAUTH_SESSION_KEY] = timezone.now().timestamp()
        audit.record("reauth.ok", actor=user, object_type="user", object_ref=str(user.pk))
        return True
    _register_failure(user)
    audit.record("reauth.failed", actor=user, object_type="user", object_ref=str(user.pk))
    return False


def recently_authenticated(request) -> bool:
    at = request.session.get(REAUTH_SESSION_KEY)
    if at is None:
        return False
    return timezone.now().timestamp() - at < settings.JIKIMI_REAUTH_MINUTES * 60


# --- Roles --------------------------------------------------------------------------------

STAFF_WRITE_ROLES = {Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER}


def require_role(user: User, *roles: str) -> None:
    if not user.is_authenticated or user.role not in roles:
        raise AccessDenied(f"this needs one of the roles {', '.join(roles)}")


def can_edit_people(user: User) -> bool:
    return user.role in STAFF_WRITE_ROLES


def can_read_audit(user: User) -> bool:
    return user.role in (Role.AUDITOR, Role.ADMIN)


def shared_person_ids(organisation_id: int):
    """Ids of people another organisation shared with this one (grants not revoked)."""
    return SharingGrant.objects.filter(
        to_organisation_id=organisation_id, revoked_at__isnull=True
    ).values("person_id")
