"""Delivery channels: one interface, one module per kind (after healthchecks' integrations).

A channel's `send` either returns (the recipient's server accepted the message) or raises
`DeliveryError`. It must pass `message.idempotency_key` / `message.message_id` along, so a
message repeated after a crash can be recognised as the same one.
"""

from __future__ import annotations

from typing import Protocol

from ..models import OutboxMessage


class DeliveryError(Exception):
    """The message was not accepted. The text must hold no personal data."""


class Sender(Protocol):
    def send(self, message: OutboxMessage) -> None: ...

    def close(self) -> None: ...


def sender_for(kind: str) -> Sender:
    """A fresh sender for one batch (the e-mail sender keeps its SMTP connection open)."""
    if kind == "email":
        from .email import EmailSender

        return EmailSender()
    if kind == "sms":
        from .sms import SmsSender

        return SmsSender()
    if kind == "webhook":
        from .webhook import WebhookSender

        return WebhookSender()
    raise DeliveryError(f"no channel of kind {kind!r}")
