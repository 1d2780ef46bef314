"""Outbox troubles become alerts on the staff board (and e-mails to supervisors)."""

from __future__ import annotations

from django.utils import timezone

from . import services
from .models import AlertKind


def _raise_org_alert(organisation_id: int, kind: str, key: str, label: str, **detail) -> None:
    # One alert per key (per channel per hour, per quota month): a repeat is the same alert.
    services.raise_staff_alert(
        organisation_id=organisation_id, kind=kind, key=key, detail=detail, label=label
    )


def on_channel_failing(sender, *, organisation_id, kind, channel_id, message_ref, **kw):
    hour = timezone.now().strftime("%Y%m%d%H")
    _raise_org_alert(
        organisation_id,
        AlertKind.CHANNEL_FAILURE,
        f"channel_failure:{organisation_id}:{kind}:{channel_id}:{hour}",
        f"The {kind} channel keeps failing; messages are being retried.",
        channel_kind=kind,
        channel=str(channel_id or ""),
    )


def on_sms_quota_blocked(sender, *, organisation_id, month, message_ref, **kw):
    _raise_org_alert(
        organisation_id,
        AlertKind.QUOTA_BLOCKED,
        f"quota_blocked:{organisation_id}:{month}",
        "The monthly SMS quota blocked a message. Raise the quota.",
        month=month,
    )


def on_consent_saved(sender, *, instance, created, **kw):
    """A `checkins` consent withdrawn in the people app (page, API, import) stops monitoring.

    Connected to Consent's post_save in CheckinsConfig.ready, so the people app need not
    know about check-ins. `record_consent` saves inside a transaction: the consent row,
    its audit event and the withdrawal commit together or not at all."""
    if created and instance.purpose == "checkins" and not instance.granted:
        services.stop_for_withdrawn_consent(instance.person_id, actor=instance.recorded_by)
