"""Who hears about a check-in alert, and what the message says. Enqueued through notify's
outbox; staff messages are the alerts app's (alerts.notifications), the person's are here.

Messages carry the person's public code (pseudonymous), never a name. A message to the
person is neutral ("time to check in"), since someone else may read their phone.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from jikimi.alerts import notifications as staff
from jikimi.alerts.models import Alert, Target
from jikimi.notify.services import Notification

from .models import Enrolment


def for_step(
    enrolment: Enrolment,
    alert: Alert,
    target: str,
    step: int,
    round_no: int,
    cache: dict | None = None,
) -> list[Notification]:
    """The messages for one step of a missed check-in's ladder (or a reminder round)."""
    if target == Target.PERSON:
        return for_person(
            enrolment, key=f"{alert.key}:s{step}:r{round_no}", ref=f"alert:{alert.key}"
        )
    if target == Target.TRUSTED_CONTACTS:
        return staff.for_trusted_contacts(
            alert, enrolment.person, step, round_no, language=enrolment.language
        )
    return staff.for_staff_step(
        alert, target, step, round_no, cache, caseworker=enrolment.caseworker
    )


def for_person(enrolment: Enrolment, *, key: str, ref: str) -> list[Notification]:
    """A neutral reminder through the person's own channels."""
    with translation.override(enrolment.language):
        # No app name: a message naming a defector-protection service could endanger someone
        # whose phone is inspected (the same reason the check-in pages carry none).
        text = _("Reminder: time for your check-in.")

    def note(kind: str, recipient: str, subject: str, body: str) -> Notification:
        return Notification(
            organisation_id=enrolment.organisation_id,
            kind=kind,
            recipient=recipient,
            subject=subject,
            body=body,
            key=f"{key}:person:{kind}",
            ref=ref,
            is_drill=enrolment.is_drill,
            priority=4,
        )

    out = []
    if "sms" in enrolment.channels and enrolment.phone:
        out.append(note("sms", enrolment.phone, "", text[:70]))
    if "email" in enrolment.channels and enrolment.email:
        out.append(note("email", enrolment.email, text, text))
    return out
