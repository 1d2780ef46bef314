"""Protection cases: open, status with history, deadlines, actions, family contacts,
referrals, work lists.

Every function takes the acting user and checks access here, so pages, API and CLI cannot
differ: staff (admin, supervisor, case worker) of the case's organisation, or of an
organisation that accepted a referral of it; anything else is `NotFound` (404, never 403
across organisations). Every read and write is audited (`case.*`); the person is reached
through `jikimi.people.services` only.

Opening a case from an incident act (issue #15) waits for the incidents app: until then
`open_case` takes a free `source_ref` ("incident act A-…"), and a `from_act` argument can
be added beside it that fills the same field and links the act.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Organisation, Role, User
from jikimi.alerts import services as alerts
from jikimi.audit import services as audit
from jikimi.core import crypto
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound, ServiceError
from jikimi.people import services as people

from .models import (
    NEVER_CONTACTED_FIRST,
    OPEN_DEADLINE,
    Action,
    Case,
    CaseKind,
    CaseStatus,
    Channel,
    ConsentBasis,
    ContactMethod,
    Deadline,
    DeadlineKind,
    DeadlineSource,
    FamilyContact,
    KindPolicy,
    Priority,
    Referral,
    ReferralState,
    StatusChange,
)

SOURCE_APP = "cases"
STAFF_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER)
SUPERVISOR_ROLES = (Role.ADMIN, Role.SUPERVISOR)
MAX_TEXT = 10_000

# A status that proposes a review deadline (DESIGN §5, issue #15): detention in China can
# end in repatriation within days, and "at risk of repatriation" within one.
STATUS_RULES: dict[str, tuple[timedelta, str]] = {
    CaseStatus.DETAINED: (timedelta(hours=72), gettext_noop("Review the detention (72 hours)")),
    CaseStatus.AT_RISK: (
        timedelta(hours=24),
        gettext_noop("Review the risk of repatriation (24 hours)"),
    ),
}


class VersionConflict(ServiceError):
    """Someone changed the case since this editor read it: nothing was written (409)."""

    status_code = 409

    def __init__(self, current_version: int):
        self.current_version = current_version
        super().__init__(
            str(
                _(
                    "Someone else changed this case meanwhile (now version %(version)s). "
                    "Nothing was saved: reload the case and make your change again."
                )
                % {"version": current_version}
            )
        )


# --- Access ---------------------------------------------------------------------------------


def _require_staff(user: User) -> None:
    accounts.require_role(user, *STAFF_ROLES)


def referred_case_ids(organisation_id: int) -> list[uuid.UUID]:
    """Cases other organisations referred to this one and it accepted (few: a literal list
    keeps the organisation index usable, as people.people_seen_by explains)."""
    return list(
        Referral.objects.filter(
            to_organisation_id=organisation_id, state=ReferralState.ACCEPTED
        ).values_list("case_id", flat=True)
    )


def cases_seen_by(organisation_id: int, *, case_field: str = "id") -> Q:
    """The one definition of which cases an organisation sees: its own and those it accepted
    by referral. A filter for any table that carries the case's `organisation_id` and the
    case (`case_field`: "id" on Case, "case_id" on Deadline)."""
    own = Q(organisation_id=organisation_id)
    referred = referred_case_ids(organisation_id)
    return own | Q(**{f"{case_field}__in": referred}) if referred else own


def visible_cases(user: User) -> QuerySet[Case]:
    _require_staff(user)
    return Case.objects.filter(cases_seen_by(user.org_id))


def get_case(user: User, code: str, *, purpose: str = "view") -> Case:
    """The case of this code the user may see, audited; NotFound (and an audit row) else."""
    case = (
        visible_cases(user)
        .filter(code=str(code)[:16])
        .select_related("person", "responsible", "organisation")
        .first()
    )
    if case is None:
        audit.record("case.not_found", actor=user, object_type="case", object_ref=str(code)[:64])
        raise NotFound(code)
    referred = case.organisation_id != user.org_id
    audit.record(
        "case.read",
        actor=user,
        object_type="case",
        object_ref=case.code,
        detail={
            "purpose": purpose,
            "person": case.person.code,
            **({"via_referral": True} if referred else {}),
        },
    )
    return case


# --- Validation -----------------------------------------------------------------------------


def _choice(errors: dict, name: str, value: Any, choices: Iterable[str]) -> str:
    allowed = list(choices)
    if value not in allowed:
        errors[name] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}
        return ""
    return str(value)


def _text(errors: dict, name: str, value: Any, *, required: bool = False, limit: int = MAX_TEXT):
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[name] = _("This field is required.")
    elif len(text) > limit:
        errors[name] = _("At most %(limit)s characters.") % {"limit": limit}
    return text


def _priority(errors: dict, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number not in Priority.values:
        errors["priority"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(str(p) for p in Priority.values)
        }
    return number


def _responsible(errors: dict, user: User, value: Any) -> User | None:
    """A staff member of the user's organisation (a user id or a User), or None."""
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, User) else value
    try:
        worker = User.objects.filter(
            pk=int(pk), organisation_id=user.org_id, is_active=True, role__in=STAFF_ROLES
        ).first()
    except (TypeError, ValueError):
        worker = None
    if worker is None:
        errors["responsible"] = _("Choose an active staff member of your organisation.")
    return worker


def _aware(errors: dict, name: str, value: Any) -> datetime | None:
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        try:
            value = parse_datetime(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        errors[name] = _("Give a date and time, e.g. 2026-05-01T09:00+09:00.")
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


# Times staff give must be plausible: a year 143 or 9999 is a typing slip, and beyond the
# range the ladder's date arithmetic and the API's date-time format can hold.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=3650)


def _future(errors: dict, name: str, value: Any, now: datetime) -> datetime | None:
    """A deadline: still to come, within ten years."""
    due = _aware(errors, name, value)
    if due is None:
        return None
    if due <= now:
        errors[name] = _("The deadline is in the past: give a time still to come.")
    elif due > now + MAX_AHEAD:
        errors[name] = _("At most ten years ahead.")
    return due


def _raise(errors: dict) -> None:
    if errors:
        raise InvalidInput(errors)


def _encrypt(case_like: Any, name: str, value: str) -> str | None:
    """The ciphertext of `value` for this row's encrypted field (for a conditional UPDATE,
    which bypasses the field's pre_save)."""
    if not value:
        return None
    fld = type(case_like)._meta.get_field(name)
    return crypto.encrypt(value, fld.aad(case_like))


def _audit(user: User, action: str, case: Case, /, **detail: Any) -> None:
    """Audited in the case's organisation; a referred organisation's staff act in theirs
    too (their own log shows what they did)."""
    audit.record(action, actor=user, object_type="case", object_ref=case.code, detail=detail)
    if case.organisation_id != user.org_id:
        audit.record(
            action,
            actor=user,
            object_type="case",
            object_ref=case.code,
            detail={**detail, "via_referral": True},
            organisation_id=case.organisation_id,
        )


# --- Opening, status, editing ---------------------------------------------------------------


def open_case(
    user: User,
    person_code: str,
    *,
    kind: str,
    status: str = CaseStatus.REPORTED,
    priority: Any = Priority.HIGH,
    responsible: Any = None,
    notes: str = "",
    source_ref: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> Case:
    """Open a case for a person of the user's organisation (a person seen only through a
    sharing grant is read-only: people refuses). The first status is recorded in the
    history like any change; a status with a rule proposes its review deadline."""
    _require_staff(user)
    now = now or timezone.now()
    errors: dict = {}
    kind = _choice(errors, "kind", kind, CaseKind.values)
    status = _choice(errors, "status", status, [s for s in CaseStatus.values if s != "closed"])
    number = _priority(errors, priority)
    worker = _responsible(errors, user, responsible)
    notes = _text(errors, "notes", notes)
    source_ref = _text(errors, "source_ref", source_ref, limit=100)
    reason = _text(errors, "reason", reason, limit=MAX_TEXT)
    _raise(errors)
    try:
        person = people.get_person(user, str(person_code), purpose="case_open")
    except NotFound:
        # A field of the request, not the path: named like any other bad field.
        raise InvalidInput({"person": _("No person with this code that you may see.")}) from None
    people.require_owner(user, person, purpose="case_open")
    with transaction.atomic():
        case = Case(
            organisation_id=user.org_id,
            person=person,
            kind=kind,
            status=status,
            priority=number,
            responsible=worker or user,
            source_ref=source_ref,
            status_changed_at=now,
            created_by=user,
        )
        case.notes = notes or None
        case.save(force_insert=True)
        _record_status(case, "", status, reason or gettext_noop("Case opened"), user, now)
        deadlines = _rule_deadlines(case, status, user, now)
        _audit(
            user,
            "case.open",
            case,
            person=person.code,
            kind=kind,
            status=status,
            deadlines=[d.pk for d in deadlines],
        )
    return case


def _record_status(case: Case, old: str, new: str, reason: str, user: User, now: datetime):
    change = StatusChange(case=case, from_status=old, to_status=new, by=user, at=now)
    change.reason = reason
    change.save(force_insert=True)
    return change


def _rule_deadlines(case: Case, status: str, user: User, now: datetime) -> list[Deadline]:
    rule = STATUS_RULES.get(status)
    if rule is None:
        return []
    after, label = rule
    return [
        Deadline.objects.create(
            case=case,
            organisation_id=case.organisation_id,
            kind=DeadlineKind.REVIEW,
            due_at=now + after,
            label=label,
            set_by=DeadlineSource.RULE,
            created_by=user,
        )
    ]


@dataclass
class StatusResult:
    case: Case
    change: StatusChange
    deadlines: list[Deadline] = field(default_factory=list)  # proposed by the status's rule


def change_status(
    user: User,
    code: str,
    *,
    status: str,
    reason: str,
    expected_version: Any = None,
    now: datetime | None = None,
) -> StatusResult:
    """Move the case to `status`, with a reason (required), recorded in the history. To
    "detained" creates a 72-hour review deadline, to "at risk of repatriation" a 24-hour
    one (`StatusResult.deadlines` says which). With `expected_version`, a case changed
    meanwhile is a VersionConflict and nothing is written."""
    errors: dict = {}
    status = _choice(errors, "status", status, CaseStatus.values)
    reason = _text(errors, "reason", reason, required=True)
    if "reason" in errors and not reason:
        errors["reason"] = _("Say why the status changes: a reason is required.")
    version = _version(errors, expected_version)
    _raise(errors)
    case = get_case(user, code, purpose="status")
    if status == case.status:
        raise InvalidInput({"status": _("The case already has this status.")})
    now = now or timezone.now()
    with transaction.atomic():
        read = case.version if version is None else version
        if not Case.objects.filter(pk=case.pk, version=read).update(
            status=status, status_changed_at=now, version=F("version") + 1, updated_at=now
        ):
            raise VersionConflict(_current_version(case))
        old = case.status
        change = _record_status(case, old, status, reason, user, now)
        deadlines = _rule_deadlines(case, status, user, now)
        if status == CaseStatus.CLOSED:
            # A closed case has no deadline left to watch.
            _close_deadlines(case, now)
        _audit(
            user,
            "case.status",
            case,
            from_status=old,
            to_status=status,
            deadlines=[d.pk for d in deadlines],
        )
    case.refresh_from_db()
    return StatusResult(case, change, deadlines)


def _close_deadlines(case: Case, now: datetime) -> None:
    open_ = Deadline.objects.filter(OPEN_DEADLINE, case=case)
    alert_ids = [a for a in open_.values_list("alert_id", flat=True) if a]
    open_.update(cancelled_at=now)
    if alert_ids:
        alerts.stop_escalation(alert_ids, now=now, by="case_closed")


def _version(errors: dict, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors["version"] = _("Give the version of the case you read (a whole number).")
        return None


def _current_version(case: Case) -> int:
    return Case.objects.filter(pk=case.pk).values_list("version", flat=True).first() or 0


UPDATABLE = ("kind", "priority", "responsible", "notes", "source_ref")


def update_case(user: User, code: str, *, expected_version: Any, **fields: Any) -> Case:
    """Change the case's kind, priority, responsible worker, notes or source reference.

    `UPDATE … WHERE version = expected_version`: if another editor saved first, no row
    matches, nothing is overwritten, and the second editor gets a VersionConflict naming
    the current version.
    """
    errors: dict = {}
    version = _version(errors, expected_version)
    if version is None and "version" not in errors:
        errors["version"] = _("Give the version of the case you read (a whole number).")
    unknown = sorted(set(fields) - set(UPDATABLE))
    if unknown:
        errors[unknown[0]] = _("This field cannot be changed here.")
    values: dict[str, Any] = {}
    if "kind" in fields:
        values["kind"] = _choice(errors, "kind", fields["kind"], CaseKind.values)
    if "priority" in fields:
        values["priority"] = _priority(errors, fields["priority"])
    if "responsible" in fields:
        values["responsible"] = _responsible(errors, user, fields["responsible"])
    if "notes" in fields:
        values["notes"] = _text(errors, "notes", fields["notes"])
    if "source_ref" in fields:
        values["source_ref"] = _text(errors, "source_ref", fields["source_ref"], limit=100)
    _raise(errors)
    case = get_case(user, code, purpose="edit")
    now = timezone.now()
    if "notes" in values:
        values["notes"] = _encrypt(case, "notes", values["notes"])
    with transaction.atomic():
        assert version is not None  # required above
        if not Case.objects.filter(pk=case.pk, version=version).update(
            version=F("version") + 1, updated_at=now, **values
        ):
            raise VersionConflict(_current_version(case))
        _audit(user, "case.update", case, fields=sorted(values))
    case.refresh_from_db()
    return case


# --- Deadlines ------------------------------------------------------------------------------


def add_deadline(
    user: User,
    code: str,
    *,
    due_at: Any,
    kind: str = DeadlineKind.OTHER,
    label: str = "",
    now: datetime | None = None,
) -> Deadline:
    """A deadline set by hand; one already in the past is refused (it would alert at once
    and say nothing true)."""
    now = now or timezone.now()
    errors: dict = {}
    kind = _choice(errors, "kind", kind, DeadlineKind.values)
    label = _text(errors, "label", label, limit=200)
    due = _future(errors, "due_at", due_at, now)
    _raise(errors)
    case = get_case(user, code, purpose="deadline")
    assert due is not None
    with transaction.atomic():
        deadline = _new_deadline(case, kind, due, label, user)
        _audit(user, "case.deadline_add", case, deadline=deadline.pk, kind=kind)
    return deadline


def _new_deadline(case: Case, kind: str, due: datetime, label: str, user: User) -> Deadline:
    return Deadline.objects.create(
        case=case,
        organisation_id=case.organisation_id,
        kind=kind,
        due_at=due,
        label=label,
        set_by=DeadlineSource.HAND,
        created_by=user,
    )


def get_deadline(user: User, deadline_id: Any) -> Deadline:
    try:
        pk = int(deadline_id)
    except (TypeError, ValueError):
        raise NotFound(str(deadline_id)) from None
    _require_staff(user)
    deadline = (
        Deadline.objects.filter(cases_seen_by(user.org_id, case_field="case_id"), pk=pk)
        .select_related("case")
        .first()
    )
    if deadline is None:
        raise NotFound(str(deadline_id))
    return deadline


def meet_deadline(user: User, deadline_id: Any, now: datetime | None = None) -> Deadline:
    return _end_deadline(user, deadline_id, "met_at", "case.deadline_met", now)


def cancel_deadline(user: User, deadline_id: Any, now: datetime | None = None) -> Deadline:
    return _end_deadline(user, deadline_id, "cancelled_at", "case.deadline_cancel", now)


def _end_deadline(user: User, deadline_id: Any, column: str, action: str, now) -> Deadline:
    """Met or cancelled, once (a conditional UPDATE on an open deadline); its alert's
    ladder stops, the alert stays on the board until staff close it."""
    deadline = get_deadline(user, deadline_id)
    now = now or timezone.now()
    with transaction.atomic():
        if not Deadline.objects.filter(OPEN_DEADLINE, pk=deadline.pk).update(**{column: now}):
            raise InvalidInput({"deadline": _("This deadline is already met or cancelled.")})
        deadline.refresh_from_db()
        if deadline.alert_id:
            alerts.stop_escalation([deadline.alert_id], now=now, by="deadline_done")
        _audit(user, action, deadline.case, deadline=deadline.pk)
    return deadline


# --- Actions and family contacts ------------------------------------------------------------


def log_action(
    user: User,
    code: str,
    *,
    channel: str,
    description: str,
    date: Any = None,
    outcome: str = "",
    next_step: str = "",
    next_step_due: Any = None,
    now: datetime | None = None,
) -> Action:
    """An action taken (a request to a ministry, a UN urgent appeal…). A next step with a
    due time becomes a deadline of the case."""
    now = now or timezone.now()
    errors: dict = {}
    channel = _choice(errors, "channel", channel, Channel.values)
    description = _text(errors, "description", description, required=True)
    outcome = _text(errors, "outcome", outcome, limit=500)
    next_step = _text(errors, "next_step", next_step, limit=500)
    day = _day(errors, "date", date, now)
    due = None
    if next_step_due not in (None, ""):
        due = _future(errors, "next_step_due", next_step_due, now)
    _raise(errors)
    case = get_case(user, code, purpose="action")
    with transaction.atomic():
        deadline = None
        if due is not None:
            deadline = _new_deadline(case, DeadlineKind.OTHER, due, next_step[:200], user)
        action = Action(
            case=case,
            date=day,
            by=user,
            channel=channel,
            outcome=outcome,
            next_step=next_step,
            next_step_deadline=deadline,
        )
        action.description = description
        action.save(force_insert=True)
        _audit(
            user,
            "case.action",
            case,
            action_id=str(action.pk),
            channel=channel,
            **({"deadline": deadline.pk} if deadline else {}),
        )
    return action


def _day(errors: dict, name: str, value: Any, now: datetime) -> date:
    if value in (None, ""):
        return timezone.localdate(now)
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            errors[name] = _("Give a date such as 2026-05-01.")
            return timezone.localdate(now)
    if not EARLIEST.date() <= day <= timezone.localdate(now) + timedelta(days=1):
        errors[name] = _("Give a date from 1990 to today.")
    return day


def log_family_contact(
    user: User,
    code: str,
    *,
    how: str,
    what_was_told: str,
    at: Any = None,
    can_be_told: str = "",
    next_contact_at: Any = None,
    now: datetime | None = None,
) -> FamilyContact:
    """The family was told something. The next promised contact is a deadline of its own;
    a contact meets the family-contact deadlines that were due by then."""
    now = now or timezone.now()
    errors: dict = {}
    how = _choice(errors, "how", how, ContactMethod.values)
    told = _text(errors, "what_was_told", what_was_told, required=True)
    can_be_told = _text(errors, "can_be_told", can_be_told, limit=2000)
    when = now if at in (None, "") else _aware(errors, "at", at)
    if when is not None and when > now + timedelta(minutes=5):
        errors["at"] = _("A contact that already happened cannot be in the future.")
    elif when is not None and when < EARLIEST:
        errors["at"] = _("Give a date from 1990 on.")
    due = None
    if next_contact_at not in (None, ""):
        due = _aware(errors, "next_contact_at", next_contact_at)
        if due is not None and due <= now:
            errors["next_contact_at"] = _("The deadline is in the past: give a time still to come.")
    _raise(errors)
    assert when is not None
    case = get_case(user, code, purpose="family_contact")
    with transaction.atomic():
        deadline = None
        if due is not None:
            deadline = _new_deadline(
                case,
                DeadlineKind.FAMILY_CONTACT,
                due,
                gettext_noop("Promised family contact"),
                user,
            )
        contact = FamilyContact(
            case=case, at=when, by=user, how=how, next_contact_deadline=deadline
        )
        contact.what_was_told = told
        contact.can_be_told = can_be_told or None
        contact.save(force_insert=True)
        # Only ever forward: a contact logged late for last week does not hide a newer one.
        Case.objects.filter(pk=case.pk).filter(
            Q(last_family_contact_at__isnull=True) | Q(last_family_contact_at__lt=when)
        ).update(last_family_contact_at=when)
        met = Deadline.objects.filter(
            OPEN_DEADLINE, case=case, kind=DeadlineKind.FAMILY_CONTACT, due_at__lte=when
        )
        if deadline is not None:
            met = met.exclude(pk=deadline.pk)
        met_alerts = [a for a in met.values_list("alert_id", flat=True) if a]
        met_ids = list(met.values_list("pk", flat=True))
        Deadline.objects.filter(pk__in=met_ids).update(met_at=now)
        if met_alerts:
            alerts.stop_escalation(met_alerts, now=now, by="deadline_done")
        _audit(
            user,
            "case.family_contact",
            case,
            contact=str(contact.pk),
            how=how,
            met=met_ids,
            **({"deadline": deadline.pk} if deadline else {}),
        )
    return contact


# --- Referrals ------------------------------------------------------------------------------


def propose_referral(
    user: User,
    code: str,
    *,
    to_organisation: str,
    consent_basis: str,
    consent_note: str = "",
    override_reason: str = "",
    now: datetime | None = None,
) -> Referral:
    """Refer the case to another organisation (by slug), only on a recorded consent: the
    person's (their `sharing` consent in people), the family's (how it was given, in
    `consent_note`), or an override with a reason that a supervisor approves before the
    receiving organisation can accept. Refused otherwise, nothing written."""
    now = now or timezone.now()
    errors: dict = {}
    basis = _choice(errors, "consent_basis", consent_basis, ConsentBasis.values)
    note = _text(errors, "consent_note", consent_note, limit=2000)
    reason = _text(errors, "override_reason", override_reason, limit=2000)
    target = Organisation.objects.filter(slug=str(to_organisation)[:100]).first()
    if target is None:
        errors["to_organisation"] = _("No organisation has this identifier.")
    elif target.pk == user.org_id:
        errors["to_organisation"] = _("Refer the case to another organisation than yours.")
    if basis == ConsentBasis.FAMILY and not note:
        errors["consent_note"] = _(
            "Record the family's consent: who gave it, when and how. Without consent a "
            "referral needs an override approved by a supervisor."
        )
    if basis == ConsentBasis.OVERRIDE and not reason:
        errors["override_reason"] = _("An override needs a reason (a supervisor approves it).")
    _raise(errors)
    assert target is not None
    case = get_case(user, code, purpose="referral")
    if case.organisation_id != user.org_id:
        raise AccessDenied(_("Only the organisation that owns a case refers it on."))
    if basis == ConsentBasis.PERSON and not people.has_consent(case.person, "sharing"):
        raise InvalidInput(
            {
                "consent_basis": _(
                    "The person has not consented to sharing: record their consent first, "
                    "record the family's consent, or ask a supervisor for an override."
                )
            }
        )
    if Referral.objects.filter(
        case=case,
        to_organisation=target,
        state__in=(ReferralState.PROPOSED, ReferralState.APPROVED, ReferralState.ACCEPTED),
    ).exists():
        raise InvalidInput({"to_organisation": _("This case is already referred there.")})
    with transaction.atomic():
        referral = Referral(
            case=case,
            from_organisation_id=user.org_id,
            to_organisation=target,
            consent_basis=basis,
            proposed_by=user,
            proposed_at=now,
        )
        referral.consent_note = note or None
        referral.override_reason = reason or None
        referral.save(force_insert=True)
        _audit_referral(user, "case.referral_propose", referral)
    return referral


def _audit_referral(user: User, action: str, referral: Referral) -> None:
    """Both organisations' logs show every step of a referral."""
    detail = {
        "referral": referral.code,
        "from_organisation": referral.from_organisation_id,
        "to_organisation": referral.to_organisation_id,
        "basis": referral.consent_basis,
        "state": referral.state,
    }
    for org in (referral.from_organisation_id, referral.to_organisation_id):
        audit.record(
            action,
            actor=user,
            object_type="case",
            object_ref=referral.case.code,
            detail=detail,
            organisation_id=org,
        )


def _referral(user: User, code: Any, **where: Any) -> Referral:
    _require_staff(user)
    referral = Referral.objects.filter(code=str(code)[:16], **where).select_related("case").first()
    if referral is None:
        raise NotFound(str(code))
    return referral


def approve_override(user: User, code: Any, now: datetime | None = None) -> Referral:
    """A supervisor (or admin) of the referring organisation approves an override — not the
    one who proposed it: an override is a second person's decision."""
    referral = _referral(user, code, from_organisation_id=user.org_id)
    accounts.require_role(user, *SUPERVISOR_ROLES)
    if referral.consent_basis != ConsentBasis.OVERRIDE:
        raise InvalidInput({"consent_basis": _("This referral rests on consent, not an override.")})
    if referral.proposed_by_id == user.pk:
        raise InvalidInput(
            {"override_reason": _("Another supervisor than the proposer approves an override.")}
        )
    now = now or timezone.now()
    with transaction.atomic():
        if not Referral.objects.filter(pk=referral.pk, state=ReferralState.PROPOSED).update(
            state=ReferralState.APPROVED, override_approved_by=user, override_approved_at=now
        ):
            raise InvalidInput({"state": _("This referral is no longer waiting for approval.")})
        referral.refresh_from_db()
        _audit_referral(user, "case.referral_approve", referral)
    return referral


def _decidable(referral: Referral) -> Q:
    """A referral the receiver may decide: a consent referral once proposed, an override
    only once a supervisor approved it."""
    if referral.consent_basis == ConsentBasis.OVERRIDE:
        return Q(state=ReferralState.APPROVED)
    return Q(state=ReferralState.PROPOSED)


def accept_referral(
    user: User, code: Any, *, reason: str = "", now: datetime | None = None
) -> Referral:
    """The receiving organisation accepts: from now on its staff see the case, and the
    person through a read-only sharing grant (people.grant_for_referral), made by the
    sender's member who proposed (or approved) the referral."""
    return _decide(user, code, ReferralState.ACCEPTED, "case.referral_accept", reason, now)


def decline_referral(
    user: User, code: Any, *, reason: str = "", now: datetime | None = None
) -> Referral:
    """The receiving organisation declines, saying why: nothing is shared."""
    return _decide(user, code, ReferralState.DECLINED, "case.referral_decline", reason, now)


def _decide(user: User, code: Any, state: str, action: str, reason: Any, now) -> Referral:
    errors: dict = {}
    text = _text(errors, "reason", reason, limit=2000)
    if state == ReferralState.DECLINED and not text and not errors:
        errors["reason"] = _("Say why the referral is declined: a reason is required.")
    _raise(errors)
    referral = _referral(user, code, to_organisation_id=user.org_id)
    if referral.consent_basis == ConsentBasis.OVERRIDE and referral.state == "proposed":
        # Not yet a referral for the receiver: it waits for the sender's supervisor.
        raise NotFound(str(code))
    now = now or timezone.now()
    with transaction.atomic():
        if not Referral.objects.filter(_decidable(referral), pk=referral.pk).update(
            state=state,
            decided_by=user,
            decided_at=now,
            decision_reason=_encrypt(referral, "decision_reason", text),
        ):
            raise InvalidInput({"state": _("This referral was already decided.")})
        referral.refresh_from_db()
        if state == ReferralState.ACCEPTED:
            granted_by = referral.proposed_by or referral.override_approved_by
            if granted_by is None:
                raise InvalidInput(
                    {"state": _("Nobody of the referring organisation can share the person.")}
                )
            grant = people.grant_for_referral(
                user,
                referral.case.person,
                granted_by=granted_by,
                reason=f"case referral {referral.code}",
                referral=referral.code,
            )
            Referral.objects.filter(pk=referral.pk).update(grant_id=grant.pk)
            referral.grant_id = grant.pk
        _audit_referral(user, action, referral)
    return referral


def _incoming_q() -> Q:
    return Q(state=ReferralState.APPROVED) | Q(state=ReferralState.PROPOSED) & ~Q(
        consent_basis=ConsentBasis.OVERRIDE
    )


def incoming_referrals(user: User) -> list[Referral]:
    """Referrals waiting for this organisation's decision (the case itself stays hidden
    until accepted: only its code and the sender are shown)."""
    _require_staff(user)
    rows = list(
        Referral.objects.filter(to_organisation_id=user.org_id)
        .filter(_incoming_q())
        .select_related("case", "from_organisation")[:200]
    )
    audit.record(
        "case.referrals_incoming",
        actor=user,
        object_type="case",
        detail={"referrals": [r.code for r in rows]},
    )
    return rows


def outgoing_referrals(user: User, *, limit: int = 200) -> list[Referral]:
    """This organisation's referrals to others, newest first, with their state."""
    _require_staff(user)
    rows = list(
        Referral.objects.filter(from_organisation_id=user.org_id)
        .select_related("case", "to_organisation", "proposed_by", "override_approved_by")
        .order_by("-proposed_at")[:limit]
    )
    audit.record(
        "case.referrals_outgoing",
        actor=user,
        object_type="case",
        detail={"referrals": [r.code for r in rows]},
    )
    return rows


def overrides_to_approve(user: User, *, limit: int = 200) -> list[Referral]:
    """Override referrals of this organisation waiting for a supervisor (supervisors and
    admins only)."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    return list(
        Referral.objects.filter(
            from_organisation_id=user.org_id,
            consent_basis=ConsentBasis.OVERRIDE,
            state=ReferralState.PROPOSED,
        )
        .select_related("case", "to_organisation", "proposed_by")
        .order_by("proposed_at")[:limit]
    )


def referral_organisations(user: User) -> list[Organisation]:
    """Where a case of this organisation can be referred: every other organisation."""
    _require_staff(user)
    return list(Organisation.objects.exclude(pk=user.org_id).order_by("name"))


# --- Escalation policy of a case's deadline alerts -------------------------------------------


def set_case_policy(user: User, code: str, policy_id: Any) -> Case:
    """Name the escalation policy this case's deadline alerts climb (supervisors and
    admins; None or "" goes back to the kind's policy or the standard ladder). The policy is
    one of the organisation's (alerts.get_policy)."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    pk = None
    if policy_id not in (None, ""):
        try:
            pk = alerts.get_policy(user, policy_id).pk
        except NotFound:
            raise InvalidInput(
                {"escalation_policy": _("Choose an escalation policy of your organisation.")}
            ) from None
    case = get_case(user, code, purpose="edit")
    if case.organisation_id != user.org_id:
        raise AccessDenied(_("Only the organisation that owns a case changes its policy."))
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            escalation_policy_id=pk, version=F("version") + 1, updated_at=timezone.now()
        )
        _audit(user, "case.policy", case, policy=pk)
    case.refresh_from_db()
    return case


def escalation_policies(user: User) -> list:
    """The organisation's escalation policies a case can name (the alert service's)."""
    return list(alerts.policies_for(user))


@dataclass
class KindPolicyRow:
    kind: str
    label: str
    policy_id: int | None  # None: the standard ladder
    policy_name: str


def kind_policy_rows(user: User) -> list[KindPolicyRow]:
    """Each kind of case with the escalation policy its deadline alerts climb in this
    organisation (supervisors and admins)."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    chosen = dict(
        KindPolicy.objects.filter(organisation_id=user.org_id).values_list("kind", "policy_id")
    )
    names = {p.pk: p.display_name for p in alerts.policies_for(user)}
    return [
        KindPolicyRow(
            kind=str(kind),
            label=str(label),
            policy_id=chosen.get(kind),
            policy_name=names.get(chosen[kind], "") if kind in chosen else "",
        )
        for kind, label in CaseKind.choices
    ]


def _policy_pk(user: User, policy_id: Any) -> int | None:
    """The pk of one of the organisation's policies, None for "" (the standard ladder);
    ValueError for anything else."""
    if policy_id in (None, ""):
        return None
    try:
        return alerts.get_policy(user, policy_id).pk
    except NotFound:
        raise ValueError(policy_id) from None


def set_kind_policies(user: User, choices: Mapping[str, Any]) -> list[str]:
    """Set the escalation policy of several kinds of case at once (supervisors and admins),
    all or nothing: every choice is checked first, and a bad one is a field error named by
    its kind with nothing written. Each change is audited (`case.kind_policy`, with the
    previous policy); returns the kinds that changed."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    errors: dict = {}
    wanted: dict[str, int | None] = {}
    for kind, policy_id in choices.items():
        if kind not in CaseKind.values:
            errors[str(kind)[:64]] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(CaseKind.values)
            }
            continue
        try:
            wanted[kind] = _policy_pk(user, policy_id)
        except ValueError:
            errors[kind] = _("Choose an escalation policy of your organisation.")
    _raise(errors)
    changed = []
    with transaction.atomic():
        current = dict(
            KindPolicy.objects.select_for_update()
            .filter(organisation_id=user.org_id)
            .values_list("kind", "policy_id")
        )
        for kind, pk in wanted.items():
            if current.get(kind) == pk:
                continue
            if pk is None:
                KindPolicy.objects.filter(organisation_id=user.org_id, kind=kind).delete()
            else:
                KindPolicy.objects.update_or_create(
                    organisation_id=user.org_id, kind=kind, defaults={"policy_id": pk}
                )
            audit.record(
                "case.kind_policy",
                actor=user,
                detail={"kind": kind, "policy": pk, "previous": current.get(kind)},
            )
            changed.append(kind)
    return changed


def set_kind_policy(user: User, kind: str, policy_id: Any) -> KindPolicy | None:
    """The escalation policy of every case of a kind in this organisation (supervisors and
    admins); None or "" removes it (the standard ladder again)."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    errors: dict = {}
    kind = _choice(errors, "kind", kind, CaseKind.values)
    _raise(errors)
    try:
        set_kind_policies(user, {kind: policy_id})
    except InvalidInput as exc:
        raise InvalidInput({"escalation_policy": exc.errors[kind]}) from None
    return KindPolicy.objects.filter(organisation_id=user.org_id, kind=kind).first()


def kind_policies(organisation_ids: Iterable[int]) -> dict[tuple[int, str], int]:
    """(organisation, kind) → policy id, for the monitor's pass."""
    return {
        (row.organisation_id, row.kind): row.policy_id
        for row in KindPolicy.objects.filter(organisation_id__in=list(organisation_ids))
    }


# --- Reading one case -----------------------------------------------------------------------


@dataclass
class CaseFile:
    case: Case
    person_name: str | None
    history: list[StatusChange]
    deadlines: list[Deadline]
    actions: list[Action]
    contacts: list[FamilyContact]
    referrals: list[Referral]
    alerts: list


def case_file(user: User, code: str, *, limit: int = 200) -> CaseFile:
    """Everything on the case's page, in one audited read."""
    case = get_case(user, code, purpose="view")
    names = people.display_names(user, [case.person])
    return CaseFile(
        case=case,
        person_name=names.get(case.person_id),
        history=list(case.status_changes.select_related("by")[:limit]),
        deadlines=list(case.deadlines.order_by("-cancelled_at", "met_at", "due_at")[:limit]),
        actions=list(case.actions.select_related("by")[:limit]),
        contacts=list(case.family_contacts.select_related("by")[:limit]),
        referrals=list(
            case.referrals.select_related("from_organisation", "to_organisation")[:limit]
        ),
        alerts=alerts.alerts_for_subject(SOURCE_APP, case.code, limit=20),
    )


@dataclass
class CaseRecord:
    """A case for a document composed from it (the reports app's UN drafts): the case, its
    status history oldest first and its actions in date order."""

    case: Case
    history: list[StatusChange]
    actions: list[Action]


def case_record(user: User, code: str, *, purpose: str, limit: int = 200) -> CaseRecord:
    """The case this user may see (NotFound else), read and audited for `purpose`."""
    case = get_case(user, code, purpose=purpose)
    return CaseRecord(
        case=case,
        history=list(case.status_changes.order_by("at", "id")[:limit]),
        actions=list(case.actions.order_by("date", "created_at")[:limit]),
    )


def record_un_draft(user: User, case: Case, **detail: Any) -> None:
    """Audit a UN submission draft generated from the case (in the case's organisation and,
    for a referred case, the user's own)."""
    _audit(user, "case.un_draft", case, **detail)


# --- Work lists -----------------------------------------------------------------------------


COUNT_CAP = 10_000


@dataclass
class Page:
    rows: list
    total: int  # at most COUNT_CAP
    offset: int
    limit: int


def _page(
    user: User,
    name: str,
    qs: QuerySet,
    offset: int,
    limit: int,
    *,
    total: int | None = None,
    **detail: Any,
) -> Page:
    if total is None:
        # Counted up to COUNT_CAP (as the audit page does): a list of 95,000 cases without
        # family contact needs no exact figure, and counting them all cost more than the page.
        total = qs.order_by()[:COUNT_CAP].count()
    rows = list(qs[offset : offset + limit])
    codes = [getattr(r, "code", None) or r.case.code for r in rows]
    audit.record(
        "case.list", actor=user, object_type="case", detail={"list": name, "codes": codes, **detail}
    )
    return Page(rows, total, offset, limit)


@dataclass(frozen=True)
class CaseFilter:
    """The work lists' filters ("" or None: any)."""

    status: str = ""
    kind: str = ""
    priority: Any = None

    def q(self, errors: dict) -> Q:
        q = Q()
        if self.status:
            q &= Q(status=_choice(errors, "status", self.status, CaseStatus.values))
        if self.kind:
            q &= Q(kind=_choice(errors, "kind", self.kind, CaseKind.values))
        if self.priority not in (None, ""):
            q &= Q(priority=_priority(errors, self.priority))
        return q


def my_cases(
    user: User,
    *,
    offset: int = 0,
    limit: int = 50,
    include_closed: bool = False,
    filters: CaseFilter = CaseFilter(),
) -> Page:
    """The user's open cases (those they are responsible for), newest first."""
    _require_staff(user)
    errors: dict = {}
    q = filters.q(errors)
    _raise(errors)
    qs = Case.objects.filter(q, responsible=user).select_related("person")
    if not include_closed and not filters.status:
        qs = qs.exclude(status=CaseStatus.CLOSED)
    return _page(user, "mine", qs.order_by("-created_at", "id"), offset, limit)


def deadlines_this_week(
    user: User,
    *,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
    mine: bool = False,
    days: int = 7,
) -> Page:
    """Open deadlines due within `days` (and those already passed), soonest first."""
    _require_staff(user)
    now = now or timezone.now()
    qs = Deadline.objects.filter(
        OPEN_DEADLINE,
        cases_seen_by(user.org_id, case_field="case_id"),
        due_at__lt=now + timedelta(days=days),
    )
    if mine:
        qs = qs.filter(case__responsible=user)
    qs = qs.select_related("case", "case__person").order_by("due_at", "id")
    return _page(user, "deadlines", qs, offset, limit, days=days)


def no_family_contact_for(
    user: User,
    *,
    days: Any = 14,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
    filters: CaseFilter = CaseFilter(),
) -> Page:
    """Open cases whose family heard nothing for `days` days (or never), longest first."""
    _require_staff(user)
    errors: dict = {}
    try:
        days = int(days)
        if not 1 <= days <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        errors["days"] = _("Give a number of days between 1 and 3650.")
    q = filters.q(errors)
    _raise(errors)
    now = now or timezone.now()
    cut = now - timedelta(days=days)
    qs = (
        Case.objects.filter(cases_seen_by(user.org_id), q)
        .exclude(status=CaseStatus.CLOSED)
        .filter(Q(last_family_contact_at__lt=cut) | Q(last_family_contact_at__isnull=True))
        .select_related("person")
        .order_by(NEVER_CONTACTED_FIRST.asc(), "created_at", "id")
    )
    return _page(user, "no_family_contact", qs, offset, limit, days=days)


AGE_BUCKETS = ((7, "week"), (30, "month"))  # open for ≤ 7 days, ≤ 30, older (the API's)

#: The overview's finer age buckets: (code, youngest age, oldest age) of an open case.
AGE_RANGES: tuple[tuple[str, timedelta | None, timedelta | None], ...] = (
    ("lt1d", None, timedelta(days=1)),
    ("1to3d", timedelta(days=1), timedelta(days=3)),
    ("3to7d", timedelta(days=3), timedelta(days=7)),
    ("7to30d", timedelta(days=7), timedelta(days=30)),
    ("gt30d", timedelta(days=30), None),
)
AGE_CODES = tuple(code for code, _lo, _hi in AGE_RANGES)


def age_q(code: str, now: datetime) -> Q:
    """Cases opened within the age bucket `code` at `now` (a case of exactly one day is
    in "1to3d": the lower bound is inclusive)."""
    for name, youngest, oldest in AGE_RANGES:
        if name == code:
            q = Q()
            if youngest is not None:
                q &= Q(created_at__lte=now - youngest)
            if oldest is not None:
                q &= Q(created_at__gt=now - oldest)
            return q
    raise KeyError(code)


@dataclass
class Overview:
    by_status: Sequence[Mapping[str, Any]]  # {"status", "total", "week", "month", "older"}
    page: Page
    # {"status", "total", "lt1d", "1to3d", "3to7d", "7to30d", "gt30d"}, and the column sums
    by_age: Sequence[Mapping[str, Any]] = ()
    age_totals: Mapping[str, int] = field(default_factory=dict)


def supervisor_overview(
    user: User,
    *,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
    filters: CaseFilter = CaseFilter(),
    age: str = "",
) -> Overview:
    """Every open case of the organisation by status and age (supervisors and admins), and
    a page of them (filtered by status, kind, priority and an age bucket), oldest first."""
    accounts.require_role(user, *SUPERVISOR_ROLES)
    errors: dict = {}
    q = filters.q(errors)
    if age:
        age = _choice(errors, "age", age, AGE_CODES)
    _raise(errors)
    now = now or timezone.now()
    base = Case.objects.filter(organisation_id=user.org_id).exclude(status=CaseStatus.CLOSED)
    week = now - timedelta(days=7)
    month = now - timedelta(days=30)
    buckets = {code: Count("id", filter=age_q(code, now)) for code in AGE_CODES}
    counts = (
        base.values("status")
        .annotate(
            total=Count("id"),
            week=Count("id", filter=Q(created_at__gte=week)),
            month=Count("id", filter=Q(created_at__lt=week, created_at__gte=month)),
            older=Count("id", filter=Q(created_at__lt=month)),
            **buckets,
        )
        .order_by("status")
    )
    order = {s: i for i, s in enumerate(CaseStatus.values)}
    rows: list[dict[str, Any]] = sorted(
        (dict(row) for row in counts), key=lambda row: order.get(row["status"], 99)
    )
    by_status = [{k: row[k] for k in ("status", "total", "week", "month", "older")} for row in rows]
    by_age = [{k: row[k] for k in ("status", "total", *AGE_CODES)} for row in rows]
    age_totals = {k: sum(row[k] for row in rows) for k in ("total", *AGE_CODES)}
    qs = base.filter(q)
    if age:
        qs = qs.filter(age_q(age, now))
    qs = qs.select_related("person", "responsible").order_by("created_at", "id")
    # Unfiltered, the page's total is the sum of the counts just made: no second scan.
    total = age_totals["total"] if filters == CaseFilter() and not age else None
    return Overview(
        by_status,
        _page(user, "overview", qs, offset, limit, total=total, age=age),
        by_age,
        age_totals,
    )


def staff_choices(user: User) -> list[User]:
    """Whom a case can be given to: active staff of the user's organisation."""
    _require_staff(user)
    return list(
        User.objects.filter(
            organisation_id=user.org_id, is_active=True, role__in=STAFF_ROLES
        ).order_by("username")
    )
