from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from jikimi.core.errors import AccessDenied
from jikimi.core.fields import EncryptedTextField

DEFAULT_TIME_ZONE = "Asia/Seoul"
DEFAULT_SUPPRESS_BELOW = 5  # jikimi.lib.suppression.SUPPRESS_BELOW (lib cannot be a default here)


class Organisation(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # The organisation's settings (its administrators change them on /admin/settings; read
    # them through accounts.services: time_zone_of, suppression_threshold, sms_monthly_quota).
    time_zone = models.CharField(_("Time zone"), max_length=64, default=DEFAULT_TIME_ZONE)
    suppress_below = models.PositiveSmallIntegerField(
        _("Suppression threshold"), default=DEFAULT_SUPPRESS_BELOW
    )
    # None: no organisation-wide limit (an SMS channel's own quota, if any, still applies).
    sms_monthly_quota = models.PositiveIntegerField(_("Monthly SMS quota"), null=True, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    CASEWORKER = "caseworker", _("Case worker")
    ANALYST = "analyst", _("Analyst")
    AUDITOR = "auditor", _("Auditor")


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django_otp is untyped
    """A member of staff. Every user belongs to exactly one organisation."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", null=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASEWORKER)
    failed_logins = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    preferred_language = models.CharField(max_length=8, blank=True)

    @property
    def org_id(self) -> int:
        """The organisation whose records this user works on. The column is nullable only for
        a bare superuser made with `createsuperuser`; such a user is refused, never given the
        rows whose organisation is NULL."""
        if self.organisation_id is None:
            raise AccessDenied(gettext("This account belongs to no organisation."))
        return self.organisation_id

    @property
    def sees_identities(self) -> bool:
        """Analysts and auditors work with pseudonymous data only."""
        return self.role in (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER)


class EncryptedTOTPDevice(ThrottlingMixin, Device):
    """A TOTP device whose secret is encrypted at rest (django-otp's own stores it in clear)."""

    # django-otp's persistent ids need an integer pk; the ciphertext is bound to `uid`.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    secret_hex = EncryptedTextField(row_id_field="uid")
    step = models.PositiveSmallIntegerField(default=30)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    def get_throttle_factor(self) -> int:
        return 1

    @property
    def bin_key(self) -> bytes:
        return bytes.fromhex(self.secret_hex)

    def _totp(self):
        from django_otp.oath import TOTP

        totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
        return totp

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            token = int(str(token).strip())
        except ValueError:
            verified = False
        else:
            totp = self._totp()
            verified = False
            # Accept the current step ± tolerance, never a step already used (replay).
            for offset in range(-self.tolerance, self.tolerance + 1):
                totp.drift = self.drift + offset
                if totp.t() > self.last_t and totp.token() == token:
                    self.last_t = totp.t()
                    verified = True
                    break
        if verified:
            self.throttle_reset(commit=False)
            self.save(
                update_fields=["last_t", "throttling_failure_timestamp", "throttling_failure_count"]
            )
        else:
            self.throttle_increment()
        return verified

    def current_token(self) -> str:
        """The code an authenticator app shows now (demo login page, tests)."""
        return str(self._totp().token()).zfill(self.digits)

    def config_url(self) -> str:
        import base64
        from urllib.parse import quote

        secret = base64.b32encode(self.bin_key).decode().rstrip("=")
        label = quote(f"Jikimi:{self.user.get_username()}")
        return f"otpauth://totp/{label}?secret={secret}&issuer=Jikimi&digits={self.digits}"


class ApiToken(models.Model):
    """A REST API token. Only the SHA-256 of the token is kept; the token is shown once.

    A plain hash is enough (no salt, no slow hash): tokens are 32 random bytes, so there is
    nothing to guess, and the hash must be a unique column to find the token in one look-up.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    # The token's public first part (e.g. "jk_1a2b3c4d"), not secret, shown to tell tokens
    # apart. Empty for tokens converted from DRF's clear-text tokens: none of their bytes is
    # kept.
    prefix = models.CharField(max_length=16, blank=True)
    # Not auto_now_add: the conversion of DRF tokens keeps their original date.
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class AccountLinkPurpose(models.TextChoices):
    INVITE = "invite", _("Invitation")
    RESET_SECOND_FACTOR = "reset_2fa", _("New authenticator")


class AccountLink(models.Model):
    """A one-time link e-mailed to a member of staff: an invitation (set a password and enrol
    an authenticator) or, after an administrator reset the second factor, a new enrolment.

    Only the SHA-256 of the token is kept (the token is 32 random bytes: nothing to guess, and
    the hash is looked up as a unique column, as for API tokens).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_links")
    purpose = models.CharField(max_length=16, choices=AccountLinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > timezone.now()
