"""SMS through an HTTP gateway: the generic JSON adapter.

Outbound: `POST <channel.url>` with `{"to", "from", "text", "id"}`, signed (signing.py);
`id` is the idempotency key, so a gateway that de-duplicates drops a repeat after a crash.
Any 2xx is acceptance. Inbound SMS arrive at `/hooks/sms/<channel id>` (checkins).
"""

from __future__ import annotations

import json

import requests

from ..models import OutboxMessage
from . import DeliveryError
from .signing import sign


def post_signed(url: str, secret: str, payload: dict, idempotency_key: str) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": idempotency_key,
        **sign(secret, body),
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=10)
    except requests.RequestException as exc:
        raise DeliveryError(f"gateway unreachable: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"gateway answered HTTP {response.status_code}")


class SmsSender:
    def send(self, message: OutboxMessage) -> None:
        channel = message.channel
        if channel is None:
            raise DeliveryError("no SMS gateway configured for this organisation")
        post_signed(
            channel.url,
            channel.secret,
            {
                "to": message.recipient,
                "from": channel.sender,
                "text": message.body,
                "id": message.idempotency_key,
            },
            message.idempotency_key,
        )

    def close(self) -> None:
        pass
