"""Webhook: a signed JSON POST to the organisation's endpoint."""

from __future__ import annotations

from ..models import OutboxMessage
from . import DeliveryError
from .sms import post_signed


class WebhookSender:
    def send(self, message: OutboxMessage) -> None:
        channel = message.channel
        if channel is None:
            raise DeliveryError("no webhook configured")
        post_signed(
            message.recipient or channel.url,
            channel.secret,
            {
                "id": message.idempotency_key,
                "subject": message.subject,
                "text": message.body,
                "priority": message.priority,
                "drill": message.is_drill,
            },
            message.idempotency_key,
        )

    def close(self) -> None:
        pass
