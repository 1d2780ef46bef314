"""Who hears about an alert, and what the message says. Enqueued through notify's outbox.

Messages carry the person's public code (pseudonymous), never a name. A message to the
person is neutral ("time to check in"), since someone else may read their phone; a message
to a trusted contact names only the organisation.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _

from jikimi.accounts.models import Role, User
from jikimi.notify.models import ChannelKind
from jikimi.notify.services import Notification, channel_for
from jikimi.people import services as people

from .models import Alert, Enrolment, Target


def _staff_url(alert: Alert) -> str:
    from .services import base_url

    return f"{base_url()}/checkins/alerts/{alert.pk}"


# Staff e-mails are in English and Korean at once (staff may read either); plain strings
# rather than gettext per message, because the monitor writes thousands of them per pass.
KIND_LABELS = {
    "duress": "DURESS 강압 신호",
    "missed": "Missed check-in 안부 확인 누락",
    "wrong_pins": "Repeated wrong PINs PIN 반복 오류",
    "channel_failure": "Channel failing 발송 채널 장애",
    "quota_blocked": "SMS quota blocked SMS 한도 초과",
}


def _staff_text(alert: Alert, step_label: str, round_no: int) -> tuple[str, str]:
    code = alert.enrolment.person.code if alert.enrolment_id else "-"
    drill = "[DRILL] " if alert.is_drill else ""
    reminder = f" (reminder {round_no})" if round_no else ""
    subject = f"{drill}[Jikimi] {KIND_LABELS.get(alert.kind, alert.kind)}: {code}{reminder}"
    body = (
        f"{subject}\n\n{step_label}\nAlert {alert.pk}, raised "
        f"{alert.created_at:%Y-%m-%d %H:%M %Z}.\nOpen: {_staff_url(alert)}\n"
        "Acknowledge it to stop the escalation.\n"
    )
    return subject, body


def staff_users(
    organisation_id: int, target: str, enrolment: Enrolment | None, cache: dict | None = None
) -> list[User]:
    """The staff a step reaches. `cache` (one per monitor pass) saves a query per alert."""
    if target == Target.CASEWORKER and enrolment is not None:
        users = [enrolment.caseworker]
    elif target in (Target.SUPERVISORS, Target.AUTHORITIES_TASK):
        cache = {} if cache is None else cache
        if organisation_id not in cache:
            cache[organisation_id] = list(
                User.objects.filter(
                    organisation_id=organisation_id,
                    is_active=True,
                    role__in=[Role.SUPERVISOR, Role.ADMIN],
                )
            )
        users = cache[organisation_id]
    else:
        users = []
    return [u for u in users if u.is_active and u.email]


def for_step(
    alert: Alert, target: str, step: int, round_no: int, cache: dict | None = None
) -> list[Notification]:
    """The messages for one ladder step (or one reminder round of it)."""
    enrolment = alert.enrolment
    base_key = f"{alert.key}:s{step}:r{round_no}"
    common = {
        "organisation_id": alert.organisation_id,
        "ref": f"alert:{alert.key}",
        "priority": alert.priority,
        "is_drill": alert.is_drill,
    }
    out: list[Notification] = []
    if target == Target.PERSON:
        return for_person(enrolment, key=base_key, ref=common["ref"])
    if target == Target.TRUSTED_CONTACTS:
        # A drill never reaches people outside the organisation, nor without consent.
        if alert.is_drill or not people.has_consent(enrolment.person, "trusted_contact"):
            return []
        with translation.override(enrolment.language):
            text = _(
                "%(org)s is trying to reach someone who named you as a trusted "
                "contact. Please call %(org)s."
            ) % {"org": alert.organisation.name}
            subject = _("Jikimi: please get in touch")
        for contact in enrolment.person.trusted_contacts.filter(removed_at__isnull=True):
            if contact.email:
                out.append(
                    Notification(
                        kind="email",
                        recipient=contact.email,
                        subject=subject,
                        body=text,
                        key=f"{base_key}:tc:{contact.pk}:email",
                        **common,
                    )
                )
            if contact.phone:
                out.append(
                    Notification(
                        kind="sms",
                        recipient=contact.phone,
                        subject="",
                        body=text[:70],
                        key=f"{base_key}:tc:{contact.pk}:sms",
                        **common,
                    )
                )
        return out
    labels = {
        Target.CASEWORKER: "You are the case worker.",
        Target.SUPERVISORS: "Escalated to supervisors.",
        Target.AUTHORITIES_TASK: "Escalated: a task to notify the authorities was created.",
    }
    subject, body = _staff_text(alert, labels.get(target, ""), round_no)
    for user in staff_users(alert.organisation_id, target, enrolment, cache):
        out.append(
            Notification(
                kind="email",
                recipient=user.email,
                subject=subject,
                body=body,
                key=f"{base_key}:u{user.pk}",
                **common,
            )
        )
    return out + _webhook(alert, subject, body, base_key, cache)


def _webhook(alert: Alert, subject: str, body: str, key: str, cache: dict | None) -> list:
    """The organisation's webhook (a hotline system, a chat bridge), when it has one."""
    cache = {} if cache is None else cache
    hooks = cache.setdefault("webhook", {})
    if alert.organisation_id not in hooks:
        hooks[alert.organisation_id] = channel_for(alert.organisation_id, ChannelKind.WEBHOOK)
    channel = hooks[alert.organisation_id]
    if channel is None:
        return []
    return [
        Notification(
            organisation_id=alert.organisation_id,
            kind="webhook",
            recipient=channel.url,
            subject=subject,
            body=body,
            key=f"{key}:webhook",
            ref=f"alert:{alert.key}",
            priority=alert.priority,
            is_drill=alert.is_drill,
        )
    ]


def for_person(enrolment: Enrolment, *, key: str, ref: str) -> list[Notification]:
    """A neutral reminder through the person's own channels."""
    with translation.override(enrolment.language):
        text = _("Jikimi: time for your check-in.")
    common = {
        "organisation_id": enrolment.organisation_id,
        "ref": ref,
        "is_drill": enrolment.is_drill,
        "priority": 4,
    }
    out = []
    if "sms" in enrolment.channels and enrolment.phone:
        out.append(
            Notification(
                kind="sms",
                recipient=enrolment.phone,
                subject="",
                body=text[:70],
                key=f"{key}:person:sms",
                **common,
            )
        )
    if "email" in enrolment.channels and enrolment.email:
        out.append(
            Notification(
                kind="email",
                recipient=enrolment.email,
                subject=text,
                body=text,
                key=f"{key}:person:email",
                **common,
            )
        )
    return out


def for_staff_alert(alert: Alert, label: str, cache: dict | None = None) -> list[Notification]:
    """Alerts that are not a ladder (duress, wrong PINs, channel failure): supervisors and
    the case worker at once."""
    subject, body = _staff_text(alert, label, 0)
    users = {u.pk: u for u in staff_users(alert.organisation_id, Target.SUPERVISORS, None, cache)}
    if alert.enrolment_id:
        for u in staff_users(alert.organisation_id, Target.CASEWORKER, alert.enrolment):
            users[u.pk] = u
    return [
        Notification(
            organisation_id=alert.organisation_id,
            kind="email",
            recipient=u.email,
            subject=subject,
            body=body,
            key=f"{alert.key}:u{u.pk}",
            ref=f"alert:{alert.key}",
            priority=alert.priority,
            is_drill=alert.is_drill,
        )
        for u in users.values()
    ] + _webhook(alert, subject, body, alert.key, cache)
