"""notify answers what the apps below it ask: accounts' e-mails to staff go through the
outbox like every alert, so they are retried until delivered and a failing channel alerts."""

from __future__ import annotations

from typing import Any


def on_staff_email(
    sender: Any,
    *,
    organisation_id: int,
    recipient: str,
    subject: str,
    body: str,
    key: str,
    ref: str = "",
    body_after_send: str = "",
    **kw: Any,
) -> bool:
    from .models import ChannelKind
    from .services import Notification, enqueue

    enqueue(
        [
            Notification(
                organisation_id=organisation_id,
                kind=ChannelKind.EMAIL,
                recipient=recipient,
                subject=subject,
                body=body,
                key=key,
                ref=ref,
                priority=3,
                body_after_send=body_after_send,
            )
        ]
    )
    return True
