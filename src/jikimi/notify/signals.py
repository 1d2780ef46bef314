"""What the outbox tells other apps (checkins turns these into alerts for staff)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once per message whose delivery has failed FAILURE_ALERT_AFTER times in a row
# (the message keeps being retried). kwargs: organisation_id, kind, channel_id, message_ref.
channel_failing = Signal()

# Sent when the monthly SMS quota blocks a message. kwargs: organisation_id, month,
# message_ref.
sms_quota_blocked = Signal()
