"""Check-ins by SMS: `OK <PIN>` (or `확인 <PIN>`) to the gateway number.

The reply is the same short text whatever the PIN was; it fits one Hangul SMS segment
(70 characters).
"""

from __future__ import annotations

import json
import re

from django.utils import translation
from django.utils.translation import gettext as _

from jikimi.core.crypto import blind_index
from jikimi.notify.channels.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from jikimi.notify.models import Channel, ChannelKind
from jikimi.people.services import normalise_phone

from . import services
from .models import Enrolment

CHECKIN_RE = re.compile(r"^\s*(?:OK|확인)\s*(\d{1,16})\s*$", re.IGNORECASE)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def replies(language: str) -> tuple[str, str]:
    with translation.override(language):
        return (_("Received. Thank you."), _("To check in, send: OK and your PIN"))


def handle_inbound(channel_id, body: bytes, headers) -> str:
    """Verify, parse, check in. Returns the reply text."""
    channel = Channel.objects.filter(pk=channel_id, kind=ChannelKind.SMS, is_active=True).first()
    if channel is None:
        raise BadRequest("unknown channel", 404)
    if not verify(
        channel.secret, body, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    ):
        raise BadRequest("bad signature", 403)
    try:
        payload = json.loads(body)
        sender, text = str(payload["from"]), str(payload["text"])
    except (ValueError, KeyError, TypeError):
        raise BadRequest("expected JSON with 'from' and 'text'")
    enrolment = (
        Enrolment.objects.filter(
            organisation_id=channel.organisation_id,
            phone_index=blind_index("phone", normalise_phone(sender)),
        )
        .exclude(token_index="")
        .order_by("-created_at")
        .first()
    )
    language = enrolment.language if enrolment else "ko"
    received, usage = replies(language)
    match = CHECKIN_RE.match(text)
    if not match:
        return usage  # says nothing about any PIN
    services.record_checkin(enrolment, match.group(1), channel="sms")
    return received
