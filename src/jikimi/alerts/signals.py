"""What alerts tell the apps that raised them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent (in the acknowledging or closing transaction) when staff acknowledge or close an
# alert: the raising app stops what it drives itself (check-ins: the enrolment's ladder).
# kwargs: alert, now, by ("ack" or "close").
alert_stopped = Signal()
