"""What staff hear about an alert, enqueued through notify's outbox.

Messages carry the person's public code (pseudonymous), never a name. A message to a
trusted contact names only the organisation. Each message's key derives from the alert's
key, so a repeat (a retried pass, a second monitor) is the same outbox row and, if sent
twice after a crash, carries the same idempotency key / Message-ID.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from jikimi.accounts.models import Role, User
from jikimi.notify.models import ChannelKind
from jikimi.notify.services import Notification, channel_for
from jikimi.people import services as people
from jikimi.people.models import Person

from . import registry
from .models import Alert, Target


def base_url() -> str:
    return settings.JIKIMI_BASE_URL.rstrip("/")


def staff_url(alert: Alert) -> str:
    # The board kept its check-in era paths (bookmarks and e-mails point there).
    return f"{base_url()}/checkins/alerts/{alert.pk}"


def _email_label(kind: str) -> str:
    try:
        return registry.kind(kind).email_label or kind
    except KeyError:
        return kind


def staff_text(alert: Alert, step_label: str, round_no: int) -> tuple[str, str]:
    # Staff e-mails are in English and Korean at once (staff may read either); plain strings
    # rather than gettext per message, because the monitor writes thousands of them per pass.
    code = alert.person.code if alert.person is not None else "-"
    drill = "[DRILL] " if alert.is_drill else ""
    reminder = f" (reminder {round_no})" if round_no else ""
    subject = f"{drill}[Jikimi] {_email_label(alert.kind)}: {code}{reminder}"
    body = (
        f"{subject}\n\n{step_label}\nAlert {alert.pk}, raised "
        f"{alert.created_at:%Y-%m-%d %H:%M %Z}.\nOpen: {staff_url(alert)}\n"
        "Acknowledge it to stop the escalation.\n"
    )
    return subject, body


def staff_users(
    organisation_id: int, target: str, caseworker: User | None, cache: dict | None = None
) -> list[User]:
    """The staff a step reaches. `cache` (one per monitor pass) saves a query per alert."""
    if target == Target.CASEWORKER and caseworker is not None:
        users = [caseworker]
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


STEP_LABELS: dict[str, str] = {
    Target.CASEWORKER: "You are the case worker.",
    Target.SUPERVISORS: "Escalated to supervisors.",
    Target.AUTHORITIES_TASK: "Escalated: a task to notify the authorities was created.",
}


def _common(alert: Alert) -> dict:
    return {
        "organisation_id": alert.organisation_id,
        "ref": f"alert:{alert.key}",
        "priority": alert.priority,
        "is_drill": alert.is_drill,
    }


def for_staff_step(
    alert: Alert,
    target: str,
    step: int,
    round_no: int,
    cache: dict | None = None,
    *,
    caseworker: User | None = None,
) -> list[Notification]:
    """A ladder step (or a reminder round of it) for staff: the case worker (the alert's
    assignee unless given), or supervisors and admins; and the organisation's webhook."""
    base_key = f"{alert.key}:s{step}:r{round_no}"
    subject, body = staff_text(alert, STEP_LABELS.get(target, ""), round_no)
    out = [
        Notification(
            kind="email",
            recipient=user.email,
            subject=subject,
            body=body,
            key=f"{base_key}:u{user.pk}",
            **_common(alert),
        )
        for user in staff_users(alert.organisation_id, target, caseworker or alert.assignee, cache)
    ]
    return out + _webhook(alert, subject, body, base_key, cache)


def for_trusted_contacts(
    alert: Alert, person: Person, step: int, round_no: int, *, language: str = "ko"
) -> list[Notification]:
    """The person's trusted contacts — never for a drill, never without consent."""
    if alert.is_drill or not people.has_consent(person, "trusted_contact"):
        return []
    base_key = f"{alert.key}:s{step}:r{round_no}"
    with translation.override(language):
        text = _(
            "%(org)s is trying to reach someone who named you as a trusted "
            "contact. Please call %(org)s."
        ) % {"org": alert.organisation.name}
        subject = _("Jikimi: please get in touch")
    out: list[Notification] = []
    for contact in person.trusted_contacts.filter(removed_at__isnull=True):
        if contact.email:
            out.append(
                Notification(
                    kind="email",
                    recipient=contact.email,
                    subject=subject,
                    body=text,
                    key=f"{base_key}:tc:{contact.pk}:email",
                    **_common(alert),
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
                    **_common(alert),
                )
            )
    return out


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
            kind="webhook",
            recipient=channel.url,
            subject=subject,
            body=body,
            key=f"{key}:webhook",
            **_common(alert),
        )
    ]


def for_staff_alert(
    alert: Alert, label: str, cache: dict | None = None, *, caseworker: User | None = None
) -> list[Notification]:
    """Alerts that are not a ladder (duress, wrong PINs, channel failure, reappearance):
    supervisors and the case worker (the alert's assignee unless given) at once."""
    subject, body = staff_text(alert, label, 0)
    users = {u.pk: u for u in staff_users(alert.organisation_id, Target.SUPERVISORS, None, cache)}
    for u in staff_users(alert.organisation_id, Target.CASEWORKER, caseworker or alert.assignee):
        users[u.pk] = u
    return [
        Notification(
            kind="email",
            recipient=u.email,
            subject=subject,
            body=body,
            key=f"{alert.key}:u{u.pk}",
            **_common(alert),
        )
        for u in users.values()
    ] + _webhook(alert, subject, body, alert.key, cache)
