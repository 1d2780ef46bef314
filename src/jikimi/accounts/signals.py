"""What accounts asks of the apps above it.

`staff_email`: queue an e-mail to a member of staff (an invitation, a second-factor reset).
accounts sits below notify and cannot call its outbox; notify connects a receiver that
enqueues the message in the caller's transaction and returns True. kwargs: organisation_id,
recipient, subject, body, key (unique per message: the outbox's idempotency key), ref, and
body_after_send (optional: a non-secret summary that replaces a body holding a one-time link
once the message is delivered).
"""

from __future__ import annotations

from django.dispatch import Signal

staff_email = Signal()
