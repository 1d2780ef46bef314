"""E-mail over real SMTP (settings.JIKIMI_SMTP), with an explicit Message-ID."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import TypedDict, cast

from django.conf import settings

from ..models import OutboxMessage
from . import DeliveryError


class SmtpSettings(TypedDict):
    """settings.JIKIMI_SMTP."""

    host: str
    port: int
    username: str
    password: str
    starttls: bool


class EmailSender:
    """Sends a batch over one SMTP connection, reconnecting once if the server dropped it."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        conf = cast(SmtpSettings, settings.JIKIMI_SMTP)
        smtp = smtplib.SMTP(conf["host"], conf["port"], timeout=10)
        if conf["starttls"]:
            smtp.starttls()
        if conf["username"]:
            smtp.login(conf["username"], conf["password"])
        return smtp

    def build(self, message: OutboxMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = settings.DEFAULT_FROM_EMAIL
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        # The same Message-ID on every attempt: a receiving system (or a person) can tell a
        # repeat after a crash from a new alert.
        mail["Message-ID"] = message.message_id
        mail["X-Jikimi-Idempotency-Key"] = message.idempotency_key
        if message.priority == 0:
            mail["X-Priority"] = "1"
            mail["Importance"] = "high"
        mail.set_content(message.body)
        return mail

    def send(self, message: OutboxMessage) -> None:
        mail = self.build(message)
        for attempt in (1, 2):
            try:
                if self._smtp is None:
                    self._smtp = self._connect()
                self._smtp.send_message(mail)
                return
            except smtplib.SMTPServerDisconnected:
                self._smtp = None
                if attempt == 2:
                    raise DeliveryError("SMTP server disconnected") from None
            except smtplib.SMTPRecipientsRefused:
                raise DeliveryError("SMTP server refused the recipient") from None
            except (TimeoutError, smtplib.SMTPException, OSError) as exc:
                self.close()
                raise DeliveryError(f"SMTP error: {type(exc).__name__}") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None
