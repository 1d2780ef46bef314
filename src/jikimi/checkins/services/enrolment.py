"""Check-ins: enrolment, PIN set-up, staff actions on enrolments, the timeline.

Every staff function takes the acting user and checks access here. Every change to an
enrolment is a conditional UPDATE on its `version` under the row lock (`_update`), so the
monitor never acts on a state it did not read.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role, User
from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert, EscalationPolicy
from jikimi.alerts.services import default_policy
from jikimi.audit import services as audit
from jikimi.core.crypto import blind_index
from jikimi.people import services as people
from jikimi.people.models import Person
from jikimi.people.services import InvalidInput, NotFound

from .. import pins, schedule
from ..models import (
    Enrolment,
    EnrolmentStatus,
    Phase,
)

STAFF_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER)
CHANNELS = ("web", "sms", "email")
SETUP_LINK_DAYS = 7
MAX_PAUSE_DAYS = 60


def _token_index(token: str) -> str:
    return blind_index("checkin-token", token)


def _setup_index(token: str) -> str:
    return blind_index("checkin-setup", token)


def _require_staff(user: User) -> None:
    accounts.require_role(user, *STAFF_ROLES)


# --- Enrolment ------------------------------------------------------------------------------


@dataclass
class EnrolmentResult:
    enrolment: Enrolment
    setup_token: str  # shown once: the person sets their PINs through it

    @property
    def setup_path(self) -> str:
        return f"/c/setup/{self.setup_token}"


def enrol(
    user: User,
    person: Person,
    *,
    policy: EscalationPolicy | None = None,
    interval_hours: int | None = None,
    weekly_slots: list | None = None,
    tz: str = "Asia/Seoul",
    grace_minutes: int = 60,
    channels: list | None = None,
    phone: str = "",
    email: str = "",
    is_drill: bool = False,
    language: str = "ko",
    now: datetime | None = None,
) -> EnrolmentResult:
    """Enrol a consenting person of the user's organisation. Returns the one-time set-up link.

    Monitoring starts when the person has set both PINs (`set_pins`).
    """
    _require_staff(user)
    if person.organisation_id != user.organisation_id:
        raise NotFound(person.code)  # only the owning organisation enrols
    channels = list(channels or ["web"])
    errors: dict[str, str | Promise] = {}
    if not people.has_consent(person, "checkins"):
        errors["consent"] = _("The person has not consented to check-ins.")
    if bool(interval_hours) == bool(weekly_slots):
        errors["schedule"] = _("Give either a number of hours or weekly times: one of the two.")
    elif interval_hours is not None and not 1 <= int(interval_hours) <= 24 * 31:
        errors["interval_hours"] = _("Between 1 and 744 hours (31 days).")
    elif weekly_slots:
        try:
            schedule.parse_slots(weekly_slots)
        except (ValueError, TypeError):
            errors["weekly_slots"] = _(
                "Write each time as a weekday number and a time, such as 0 09:00, 3 18:30 "
                "(0 = Monday, 6 = Sunday)."
            )
    if not schedule.valid_timezone(tz):
        errors["timezone"] = _("Unknown time zone: write it like Asia/Seoul.")
    if not 0 <= int(grace_minutes) <= 7 * 24 * 60:
        errors["grace_minutes"] = _("Between 0 and 10,080 minutes (7 days).")
    if not channels or set(channels) - set(CHANNELS):
        errors["channels"] = _("Choose at least one of web link, SMS and e-mail.")
    if "sms" in channels and len(people.normalise_phone(phone)) < 6:
        errors["phone"] = _("SMS needs the person's phone number.")
    if "email" in channels and "@" not in email:
        errors["email"] = _("E-mail needs the person's e-mail address.")
    if policy is None:
        policy = default_policy(user.organisation)
    elif policy.organisation_id != user.organisation_id:
        errors["policy"] = _("No such escalation policy.")
    if Enrolment.objects.filter(person=person).exclude(status=EnrolmentStatus.WITHDRAWN).exists():
        errors["person"] = _("The person is already enrolled in check-ins.")
    if errors:
        raise InvalidInput(errors)
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        enrolment = Enrolment(
            person=person,
            organisation_id=person.organisation_id,
            caseworker=user,
            policy=policy,
            is_drill=is_drill,
            interval_hours=interval_hours or None,
            weekly_slots=weekly_slots or [],
            timezone=tz,
            grace_minutes=grace_minutes,
            channels=channels,
            language=language,
            setup_index=_setup_index(token),
            setup_expires_at=now + timedelta(days=SETUP_LINK_DAYS),
        )
        if phone:
            enrolment.phone = phone.strip()
            enrolment.phone_index = blind_index("phone", people.normalise_phone(phone))
        if email:
            enrolment.email = email.strip()
        enrolment.save()
        audit.record(
            "checkin_enrolment.create",
            actor=user,
            object_type="person",
            object_ref=person.code,
            detail={"enrolment": str(enrolment.pk), "drill": is_drill, "channels": channels},
        )
    return EnrolmentResult(enrolment, token)


def reissue_setup_link(user: User, enrolment: Enrolment, now: datetime | None = None) -> str:
    """A new one-time link (lost phone, forgotten PIN): the person sets new PINs with it."""
    enrolment = get_enrolment(user, enrolment.pk)
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    Enrolment.objects.filter(pk=enrolment.pk).update(
        setup_index=_setup_index(token), setup_expires_at=now + timedelta(days=SETUP_LINK_DAYS)
    )
    audit.record(
        "checkin_enrolment.setup_link",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk)},
    )
    return token


def enrolment_for_setup(token: str, now: datetime | None = None) -> Enrolment | None:
    now = now or timezone.now()
    if not token:
        return None
    return Enrolment.objects.filter(
        setup_index=_setup_index(token), setup_expires_at__gt=now
    ).first()


def set_pins(setup_token: str, pin: str, duress_pin: str, now: datetime | None = None) -> str:
    """The person sets PIN and duress PIN; returns their new check-in token (shown once).

    The set-up link works once. Setting PINs (again) starts monitoring from now and replaces
    the previous check-in link.
    """
    now = now or timezone.now()
    enrolment = enrolment_for_setup(setup_token, now)
    if enrolment is None:
        raise NotFound("setup")
    if errors := pins.pin_errors(pin, duress_pin):
        raise InvalidInput(errors)
    token = secrets.token_urlsafe(32)
    due = _next_due(enrolment, now)
    with transaction.atomic():
        updated = Enrolment.objects.filter(
            pk=enrolment.pk,
            setup_index=enrolment.setup_index,
            status__in=[EnrolmentStatus.SETUP, EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED],
        ).update(
            pin_hash=pins.hash_pin(enrolment.pk, pin),
            duress_hash=pins.hash_pin(enrolment.pk, duress_pin),
            token_index=_token_index(token),
            setup_index="",
            setup_expires_at=None,
            status=EnrolmentStatus.ACTIVE,
            phase=Phase.WAITING,
            next_due_at=due,
            next_action_at=due,
            missed_at=None,
            escalation_step=0,
            wrong_pins=0,
            version=enrolment.version + 1,
        )
        if not updated:
            raise NotFound("setup")
        audit.record(
            "checkin_enrolment.pins_set",
            object_type="person",
            object_ref=enrolment.person.code,
            organisation_id=enrolment.organisation_id,
            detail={"enrolment": str(enrolment.pk)},
        )
    return token


def _next_due(enrolment: Enrolment, after: datetime) -> datetime:
    return schedule.next_due(
        interval_hours=enrolment.interval_hours,
        weekly_slots=enrolment.weekly_slots,
        tz=enrolment.timezone,
        after=after,
    )


def _keep_pending_work(row: Enrolment, changes: dict, now: datetime) -> None:
    """Never push back a deadline that has already come: the monitor may still owe an
    alert for it (a duress PIN just before a normal check-in, say). It recomputes the
    deadline itself when it has done its work."""
    if row.next_action_at is not None and row.next_action_at <= now:
        changes["next_action_at"] = row.next_action_at


# --- Staff: enrolments, pause, withdrawal ---------------------------------------------------


def visible_enrolments(user: User) -> QuerySet[Enrolment]:
    _require_staff(user)
    return Enrolment.objects.filter(organisation_id=user.org_id)


def get_enrolment(user: User, enrolment_id) -> Enrolment:
    try:
        enrolment = visible_enrolments(user).select_related("person", "policy").get(pk=enrolment_id)
    except (Enrolment.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotFound(str(enrolment_id)) from None
    audit.record(
        "checkin_enrolment.read",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk)},
    )
    return enrolment


def enrolments_of(user: User, person: Person) -> list[Enrolment]:
    return list(visible_enrolments(user).filter(person=person).select_related("policy"))


def pause(
    user: User, enrolment: Enrolment, *, until: datetime, reason: str, now: datetime | None = None
) -> None:
    """Travel, hospital: no check-ins expected until `until`; the monitor resumes it then."""
    enrolment = get_enrolment(user, enrolment.pk)
    now = now or timezone.now()
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why.")})
    if until <= now or until > now + timedelta(days=MAX_PAUSE_DAYS):
        raise InvalidInput(
            {"until": _("A day within the next %(days)s days.") % {"days": MAX_PAUSE_DAYS}}
        )
    if enrolment.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
        raise InvalidInput({"status": _("Only an active enrolment can be paused.")})
    _update(enrolment, status=EnrolmentStatus.PAUSED, paused_until=until, next_action_at=until)
    audit.record(
        "checkin_enrolment.pause",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk), "until": until.isoformat()},
    )


def resume(user: User, enrolment: Enrolment, now: datetime | None = None) -> None:
    enrolment = get_enrolment(user, enrolment.pk)
    now = now or timezone.now()
    if enrolment.status != EnrolmentStatus.PAUSED:
        raise InvalidInput({"status": _("The enrolment is not paused.")})
    due = _next_due(enrolment, now)
    _update(
        enrolment,
        status=EnrolmentStatus.ACTIVE,
        paused_until=None,
        phase=Phase.WAITING,
        next_due_at=due,
        next_action_at=due,
        missed_at=None,
        escalation_step=0,
    )
    audit.record(
        "checkin_enrolment.resume",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk)},
    )


def withdraw(user: User, enrolment: Enrolment, *, reason: str) -> None:
    """Consent withdrawn: monitoring stops and the consent record says so."""
    enrolment = get_enrolment(user, enrolment.pk)
    if not reason.strip():
        raise InvalidInput({"reason": _("Say why.")})
    _update(enrolment, status=EnrolmentStatus.WITHDRAWN, next_action_at=None)
    people.record_consent(user, enrolment.person, purpose="checkins", granted=False, method="staff")
    audit.record(
        "checkin_enrolment.withdraw",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk)},
    )


def stop_for_withdrawn_consent(person_id, *, actor: User | None = None) -> int:
    """The person withdrew their `checkins` consent (recorded in the people app): every
    live enrolment of theirs is withdrawn — no more reminders or escalations. Open alerts
    stay on the board for staff to close; work the monitor already owes (a duress alert
    whose deadline has come) is still done, by `_keep_pending_work`. Returns how many."""
    live = (EnrolmentStatus.SETUP, EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED)
    stopped = 0
    for enrolment in Enrolment.objects.filter(person_id=person_id, status__in=live):
        with transaction.atomic():
            row = Enrolment.objects.select_for_update().filter(pk=enrolment.pk).first()
            if row is None or row.status not in live:
                continue
            changes = {
                "status": EnrolmentStatus.WITHDRAWN,
                "next_action_at": None,
                "setup_index": "",
                "setup_expires_at": None,
            }
            _keep_pending_work(row, changes, timezone.now())
            Enrolment.objects.filter(pk=row.pk, version=row.version).update(
                version=row.version + 1, **changes
            )
            if row.open_alert_id:
                alerts.stop_escalation([row.open_alert_id], now=timezone.now(), by="withdrawn")
            audit.record(
                "checkin_enrolment.withdraw",
                actor=actor,
                object_type="checkin_enrolment",
                object_ref=str(row.pk),
                organisation_id=row.organisation_id,
                detail={"enrolment": str(row.pk), "by": "consent"},
            )
            stopped += 1
    return stopped


def _update(enrolment: Enrolment, **changes) -> None:
    """Change an enrolment under its row lock, bumping the version the monitor checks."""
    with transaction.atomic():
        row = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
        _keep_pending_work(row, changes, timezone.now())
        Enrolment.objects.filter(pk=row.pk, version=row.version).update(
            version=row.version + 1, **changes
        )


# --- Alerts of check-ins (the board itself is the alerts app's) -----------------------------

SOURCE_APP = "checkins"  # an alert's source_app; its source_ref is the enrolment id


def on_alert_stopped(sender, *, alert: Alert, now: datetime, by: str, **kw) -> None:
    """Staff acknowledged or closed an alert: if it is an enrolment's running ladder, stop it
    and wait for the next period. Connected to alerts' `alert_stopped` in apps.py."""
    if alert.source_app != SOURCE_APP:
        return
    with transaction.atomic():
        row = (
            Enrolment.objects.select_for_update()
            .filter(pk=alert.source_ref, open_alert_id=alert.pk)
            .first()
        )
        if row is None:
            return
        due = _next_due(row, now)
        changes = {
            "next_action_at": due if row.status == EnrolmentStatus.ACTIVE else row.next_action_at
        }
        _keep_pending_work(row, changes, now)
        Enrolment.objects.filter(pk=row.pk, version=row.version).update(
            version=row.version + 1,
            phase=Phase.WAITING,
            open_alert=None,
            missed_at=None,
            escalation_step=0,
            reminder_round=0,
            next_due_at=due,
            **changes,
        )


@dataclass
class TimelineEntry:
    at: datetime
    what: str  # "checkin" or "alert"
    kind: str
    channel: str = ""
    alert: Alert | None = None


def timeline(user: User, enrolment: Enrolment, *, limit: int = 200) -> list[TimelineEntry]:
    """Check-ins (all outcomes, duress included: staff must see it) and alerts, newest first."""
    enrolment = get_enrolment(user, enrolment.pk)
    entries = [
        TimelineEntry(c.at, "checkin", c.kind, c.channel) for c in enrolment.checkins.all()[:limit]
    ]
    entries += [
        TimelineEntry(a.created_at, "alert", a.kind, alert=a)
        for a in alerts.alerts_for_subject(SOURCE_APP, str(enrolment.pk), limit=limit)
    ]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]
