"""The outbox: enqueue in the caller's transaction, deliver with leases and retries.

Guarantees (DESIGN §4):
1. A message committed to the outbox is delivered at least once: it stays `pending` until a
   channel accepted it, and a worker that dies mid-send leaves a lease that runs out.
2. A repeat (crash between send and record) carries the same idempotency key/Message-ID.
3. A channel that keeps failing is retried with capped back-off forever and raises
   `channel_failing` once, so staff hear about it; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jikimi.accounts import services as accounts
from jikimi.core.sql import insert_ignoring_conflicts

from .channels import DeliveryError, Sender, sender_for
from .models import Channel, ChannelKind, MessageState, OutboxMessage, SmsUsage
from .signals import channel_failing, sms_quota_blocked

log = logging.getLogger("jikimi.notify")

LEASE_SECONDS = 60
CLAIM_BATCH = 25
FAILURE_ALERT_AFTER = 5
MAX_BACKOFF_SECONDS = 600


@dataclass(frozen=True)
class Notification:
    """One message to enqueue. `key` must be unique per intended delivery."""

    organisation_id: int
    kind: str
    recipient: str
    subject: str
    body: str
    key: str
    ref: str = ""
    priority: int = 5
    is_drill: bool = False
    body_after_send: str = ""  # non-secret summary kept once delivered (see OutboxMessage)


def channel_for(organisation_id: int, kind: str) -> Channel | None:
    """The organisation's gateway (SMS) or endpoint (webhook); e-mail needs none."""
    return (
        Channel.objects.filter(organisation_id=organisation_id, kind=kind, is_active=True)
        .order_by("created_at")
        .first()
    )


def enqueue(notifications: Iterable[Notification], now: datetime | None = None) -> int:
    """Add messages to the outbox in the caller's transaction; a known key is skipped.

    `ignore_conflicts` makes a repeated enqueue (a monitor redoing work after a crash) a
    no-op without an exception, which on PostgreSQL would poison the caller's transaction.
    """
    now = now or timezone.now()
    channels: dict[tuple[int, str], Channel | None] = {}
    rows = []
    for n in notifications:
        channel = None
        if n.kind != ChannelKind.EMAIL:
            where = (n.organisation_id, n.kind)
            if where not in channels:
                channels[where] = channel_for(*where)
            channel = channels[where]
        msg = OutboxMessage(
            organisation_id=n.organisation_id,
            kind=n.kind,
            channel=channel,
            ref=n.ref[:200],
            idempotency_key=n.key[:200],
            subject=n.subject[:200],
            priority=n.priority,
            is_drill=n.is_drill,
            body_after_send=n.body_after_send[:200],
            next_attempt_at=now,
        )
        msg.recipient, msg.body = n.recipient, n.body
        rows.append(msg)
    if rows:
        _insert_ignoring_conflicts(rows)
    return len(rows)


def _insert_ignoring_conflicts(rows: list[OutboxMessage]) -> None:
    """`bulk_create(ignore_conflicts=True)` without the ORM's per-value compilation, which
    costs more than the database itself when a monitor pass queues a thousand messages: a
    message whose idempotency key is queued already is skipped."""
    insert_ignoring_conflicts(OutboxMessage, rows)


def backoff(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s … capped at 10 minutes, with jitter so workers do not march in step."""
    base = min(MAX_BACKOFF_SECONDS, 5 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    errors: list[str] = field(default_factory=list)


def claim_due(
    now: datetime, limit: int = CLAIM_BATCH, lease_seconds: float = LEASE_SECONDS
) -> tuple[str, list[OutboxMessage]]:
    """Claim up to `limit` due messages with one conditional UPDATE.

    The WHERE repeats the due condition, so when two workers pick the same ids only one
    UPDATE matches each row (PostgreSQL re-checks the WHERE after waiting for the lock;
    SQLite serialises writers), and each worker then sends only rows bearing its token.
    """
    ids = list(
        OutboxMessage.objects.filter(state=MessageState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return "", []
    token = secrets.token_hex(8)
    OutboxMessage.objects.filter(
        id__in=ids, state=MessageState.PENDING, next_attempt_at__lte=now
    ).update(
        lease_token=token,
        next_attempt_at=now + timedelta(seconds=lease_seconds),
        attempts=F("attempts") + 1,
    )
    claimed = list(
        OutboxMessage.objects.filter(id__in=ids, lease_token=token)
        .select_related("channel")
        .order_by("priority", "created_at")
    )
    return token, claimed


def _take_sms_quota(message: OutboxMessage, now: datetime) -> bool:
    """Count one SMS against the monthly quota; False when the quota is used up."""
    channel = message.channel
    # The organisation's own quota (its administrators set it) when it has one, else the
    # channel's, as before organisations had the setting.
    quota = accounts.sms_monthly_quota(message.organisation_id)
    if quota is None:
        quota = channel.monthly_quota if channel else None
    month = now.strftime("%Y-%m")
    SmsUsage.objects.get_or_create(organisation_id=message.organisation_id, month=month)
    usage = SmsUsage.objects.filter(organisation_id=message.organisation_id, month=month)
    if quota is not None:
        usage = usage.filter(count__lt=quota)
    return usage.update(count=F("count") + 1) == 1


def deliver_due(
    now: datetime | None = None, *, limit: int = CLAIM_BATCH, lease_seconds: float = LEASE_SECONDS
) -> DeliveryReport:
    """Claim and send one batch. Returns what happened (counts only)."""
    now = now or timezone.now()
    report = DeliveryReport()
    token, messages = claim_due(now, limit, lease_seconds)
    senders: dict[str, Sender] = {}
    try:
        for message in messages:
            _deliver_one(message, token, now, senders, report)
    finally:
        for sender in senders.values():
            sender.close()
    return report


def deliver_all(lease_seconds: float = LEASE_SECONDS) -> int:
    """Deliver batches until nothing due is left (or a batch had a failure: its messages
    wait for their back-off, and looping would only hammer a failing channel). Returns how
    many were sent."""
    sent = 0
    while True:
        delivery = deliver_due(lease_seconds=lease_seconds)
        sent += delivery.sent
        if delivery.sent + delivery.failed + delivery.blocked == 0 or delivery.failed:
            return sent


def delivery_pass(options: Mapping[str, Any]) -> dict[str, int]:
    """The monitor's outbox pass (registered in NotifyConfig.ready): runs after the passes
    that raise alerts, so their messages leave in the same loop."""
    return {"sent": deliver_all(float(options.get("lease_seconds", LEASE_SECONDS)))}


def _deliver_one(
    message: OutboxMessage,
    token: str,
    now: datetime,
    senders: dict[str, Sender],
    report: DeliveryReport,
) -> None:
    mine = OutboxMessage.objects.filter(
        id=message.id, lease_token=token, state=MessageState.PENDING
    )
    if message.kind == ChannelKind.SMS and not _take_sms_quota(message, now):
        mine.update(state=MessageState.BLOCKED, last_error="monthly SMS quota used up")
        report.blocked += 1
        sms_quota_blocked.send(
            sender=OutboxMessage,
            organisation_id=message.organisation_id,
            month=now.strftime("%Y-%m"),
            message_ref=message.ref,
        )
        return
    try:
        if message.kind not in senders:
            senders[message.kind] = sender_for(message.kind)
        senders[message.kind].send(message)
    except DeliveryError as exc:
        report.failed += 1
        report.errors.append(str(exc))
        later = timezone.now() + backoff(message.attempts)
        mine.update(next_attempt_at=later, last_error=str(exc)[:300])
        log.warning(
            "outbox: %s message %s failed (attempt %d): %s",
            message.kind,
            message.id,
            message.attempts,
            exc,
        )
        if message.attempts >= FAILURE_ALERT_AFTER and not message.failure_reported:
            if OutboxMessage.objects.filter(id=message.id, failure_reported=False).update(
                failure_reported=True
            ):
                channel_failing.send(
                    sender=OutboxMessage,
                    organisation_id=message.organisation_id,
                    kind=message.kind,
                    channel_id=message.channel_id,
                    message_ref=message.ref,
                )
        return
    # If we die right here, the lease runs out and the message is sent again, with the same
    # Message-ID: at least once, never zero times.
    done: dict[str, Any] = {"state": MessageState.SENT, "sent_at": timezone.now(), "last_error": ""}
    if message.body_after_send:  # scrub the secret in the same UPDATE that marks it sent
        message.body = message.body_after_send
        done["body"] = OutboxMessage._meta.get_field("body").pre_save(message, False)
    mine.update(**done)
    report.sent += 1


def pending_count() -> int:
    return OutboxMessage.objects.filter(state=MessageState.PENDING).count()


def create_channel(
    organisation,
    *,
    kind: str,
    name: str,
    url: str,
    secret: str | None = None,
    sender: str = "",
    monthly_quota: int | None = None,
) -> tuple[Channel, str]:
    """Create a gateway/webhook channel; returns it with its secret (shown once)."""
    secret = secret or secrets.token_urlsafe(32)
    with transaction.atomic():
        channel = Channel(
            organisation=organisation,
            kind=kind,
            name=name,
            url=url,
            sender=sender,
            monthly_quota=monthly_quota,
        )
        channel.secret = secret
        channel.save()
    return channel, secret
