"""The outbox and the channels it delivers through (DESIGN §4).

An `OutboxMessage` is written in the same transaction as whatever caused it (an alert, a
reminder), so a committed alert always has its messages. The worker claims a message by
pushing `next_attempt_at` forward by the lease and stamping a lease token, with a
conditional UPDATE: two workers never send the same claim, and a worker that dies simply
lets its lease run out, after which the message is due again.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from jikimi.core.fields import EncryptedTextField


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WEBHOOK = "webhook", _("Webhook")


class Channel(models.Model):
    """An organisation's SMS gateway or webhook endpoint (e-mail uses the SMTP settings).

    The id is public: inbound SMS arrive at `/hooks/sms/<id>`, authenticated by an HMAC
    with `secret`, which never leaves the server.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="channels"
    )
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)  # the gateway's send endpoint, or the webhook
    secret = EncryptedTextField()  # HMAC key for both directions
    sender = models.CharField(max_length=32, blank=True)  # the gateway number
    monthly_quota = models.PositiveIntegerField(null=True, blank=True)  # SMS only; None = ∞
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


class MessageState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    BLOCKED = "blocked", _("Blocked by quota")


class OutboxMessage(models.Model):
    """One message to one recipient. Never deleted before it is sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    # What caused the message, e.g. "alert:missed:…": ties retries, repeats and reminders
    # to their alert without a foreign key into another app.
    ref = models.CharField(max_length=200, blank=True, db_index=True)
    # Unique: enqueueing the same notification twice (a monitor retrying a pass) is a no-op.
    # It is also the e-mail Message-ID and the SMS/webhook idempotency key, so a message
    # repeated after a crash carries the same key.
    idempotency_key = models.CharField(max_length=200, unique=True)
    recipient = EncryptedTextField()  # e-mail address, phone number or URL
    subject = models.CharField(max_length=200, blank=True)
    body = EncryptedTextField()
    # Set for a message holding a secret (a one-time link): once delivered, the body is
    # replaced by this non-secret summary, so the secret does not stay in the database.
    body_after_send = models.CharField(max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(default=5)  # 0 = most urgent
    is_drill = models.BooleanField(default=False)
    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.PENDING
    )
    next_attempt_at = models.DateTimeField()
    lease_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)  # never personal data
    failure_reported = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The worker's only query: due pending messages, most urgent first.
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
        ]

    @property
    def message_id(self) -> str:
        """RFC 5322 Message-ID, stable across retries (it derives from the row id)."""
        return f"<{self.id.hex}@jikimi>"


class SmsUsage(models.Model):
    """SMS sent per organisation per month, counted with a conditional UPDATE."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    month = models.CharField(max_length=7)  # "2026-11"
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month"], name="sms_usage_once")
        ]
