"""Outbox troubles become alerts on the staff board (and e-mails to supervisors)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from . import services
from .shapes import ChannelFailureDetail, QuotaBlockedDetail


def on_channel_failing(
    sender: Any, *, organisation_id: int, kind: str, channel_id: Any, message_ref: str, **kw: Any
) -> None:
    # One alert per channel per hour: a repeat within the hour is the same alert.
    hour = timezone.now().strftime("%Y%m%d%H")
    services.raise_alert(
        organisation_id=organisation_id,
        kind="channel_failure",
        key=f"channel_failure:{organisation_id}:{kind}:{channel_id}:{hour}",
        detail=ChannelFailureDetail(channel_kind=kind, channel=str(channel_id or "")),
        label=f"The {kind} channel keeps failing; messages are being retried.",
    )


def on_sms_quota_blocked(
    sender: Any, *, organisation_id: int, month: str, message_ref: str, **kw: Any
) -> None:
    services.raise_alert(
        organisation_id=organisation_id,
        kind="quota_blocked",
        key=f"quota_blocked:{organisation_id}:{month}",
        detail=QuotaBlockedDetail(month=month),
        label="The monthly SMS quota blocked a message. Raise the quota.",
    )
