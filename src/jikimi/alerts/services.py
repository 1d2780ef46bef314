"""Alerts: raise (once per key), the board, acknowledge, close, tasks, escalation ladders.

Every app raises its alerts here (`raise_alert`, or `raise_alerts` for the check-ins
monitor's batches), after registering their kinds (registry.py). Staff functions take the
acting user and check access here, so pages, API and CLI cannot differ: staff of the
alert's organisation only, anything else NotFound (404, never 403 for a record).

Audit actions keep their check-in era names (`checkin_alert.*`, `checkin_policy.*`): the
audit log is append-only, and one name per action keeps old and new rows in one series.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Field, ForeignKey, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role, User
from jikimi.audit import services as audit
from jikimi.core.sql import insert_ignoring_conflicts
from jikimi.notify import services as outbox
from jikimi.notify.services import Notification
from jikimi.people import services as people
from jikimi.people.models import Person
from jikimi.people.services import InvalidInput, NotFound

from . import ladder, notifications, registry
from .models import (
    DEFAULT_LADDER,
    DEFAULT_POLICY_NAME,
    Alert,
    AlertState,
    EscalationPolicy,
    Target,
    Task,
)
from .shapes import AlertDetail, PolicyStep
from .signals import alert_stopped

log = logging.getLogger("jikimi.alerts")

STAFF_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER)
LIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
ESCALATE_BATCH = 500


def _require_staff(user: User) -> None:
    accounts.require_role(user, *STAFF_ROLES)


# --- Raising ---------------------------------------------------------------------------------


def new_alert(
    *,
    organisation_id: int,
    kind: str,
    key: str,
    detail: AlertDetail,
    now: datetime,
    person: Person | None = None,
    source_app: str = "",
    source_ref: str = "",
    assignee: User | None = None,
    is_drill: bool = False,
    priority: int | None = None,
    policy: EscalationPolicy | None = None,
) -> Alert:
    """An unsaved alert of a registered kind (for `raise_alerts`)."""
    spec = registry.kind(kind)
    # Ids in, related objects cached after: the check-ins monitor builds a thousand alerts
    # per batch, and the related-object descriptors cost more than the rest of the alert.
    alert = Alert(
        organisation_id=organisation_id,
        person_id=person.pk if person is not None else None,
        source_app=source_app,
        source_ref=source_ref,
        assignee_id=assignee.pk if assignee is not None else None,
        kind=spec.code,
        priority=spec.priority if priority is None else priority,
        key=key,
        is_drill=is_drill,
        detail=dict(detail),
        created_at=now,
        policy_id=policy.pk if policy is not None else None,
        # A ladder starts at once: its first look is the alerts pass's next run.
        next_escalation_at=now if policy is not None else None,
    )
    for name, related in (("person", person), ("assignee", assignee), ("policy", policy)):
        if related is not None:
            _ALERT_FIELDS[name].set_cached_value(alert, related)
    return alert


def _column(name: str) -> str:
    column = cast(Field, Alert._meta.get_field(name)).column
    assert column is not None, name  # a concrete field always has one
    return column


_ALERT_FIELDS: dict[str, ForeignKey] = {
    f: cast(ForeignKey, Alert._meta.get_field(f)) for f in ("person", "assignee", "policy")
}


def raise_alert(
    *,
    organisation_id: int,
    kind: str,
    key: str,
    detail: AlertDetail,
    person: Person | None = None,
    source_app: str = "",
    source_ref: str = "",
    assignee: User | None = None,
    is_drill: bool = False,
    priority: int | None = None,
    policy: EscalationPolicy | None = None,
    label: str = "",
    now: datetime | None = None,
) -> Alert:
    """Put an alert on an organisation's board and tell its staff, once per `key`.

    A repeat with the same key — a retry, or a second process — returns the first alert
    and sends nothing new (the unique key decides, inside a savepoint, so the caller's
    transaction survives the repeat). Without a `policy`, supervisors and the assignee
    hear at once (`label` is their message's line); with one, the alerts pass walks its
    ladder. `detail` must hold no personal data (public codes, ids, scores).
    """
    now = now or timezone.now()
    alert = new_alert(
        organisation_id=organisation_id,
        kind=kind,
        key=key,
        detail=detail,
        now=now,
        person=person,
        source_app=source_app,
        source_ref=source_ref,
        assignee=assignee,
        is_drill=is_drill,
        priority=priority,
        policy=policy,
    )
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
            audit.record(
                "checkin_alert.raise",
                object_type="checkin_alert",
                object_ref=str(alert.pk),
                organisation_id=organisation_id,
                detail={"kind": alert.kind},
            )
            if policy is None:
                outbox.enqueue(notifications.for_staff_alert(alert, label or alert.kind_label), now)
    except IntegrityError:
        return Alert.objects.get(key=key)
    return alert


def raise_alerts(alerts: Sequence[Alert]) -> list[Alert]:
    """Insert the alerts (from `new_alert`) whose key is new; return those, with their ids.

    `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, key` (PostgreSQL, SQLite ≥ 3.35):
    one statement per chunk instead of a SELECT for known keys and an ORM bulk_create, whose
    per-value compilation cost more than the database work. A key raised meanwhile by
    another process is skipped rather than failing the batch. Values go through each
    field's pre_save/get_db_prep_save, as the ORM would do. The caller audits and notifies
    (the check-ins monitor writes one audit event per batch).
    """
    by_key = {a.key: a for a in alerts}
    created: list[Alert] = []
    for pk, key in insert_ignoring_conflicts(
        Alert, alerts, conflict="key", returning=("id", "key")
    ):
        alert = by_key[key]
        alert.pk = pk
        alert._state.adding, alert._state.db = False, connection.alias
        created.append(alert)
    return created


def alert_ids_for_keys(keys: Iterable[str]) -> dict[str, int]:
    return dict(Alert.objects.filter(key__in=list(keys)).values_list("key", "pk"))


def alerts_by_id(ids: Iterable[int]) -> dict[int, Alert]:
    return Alert.objects.in_bulk(list(ids))


def alerts_for_subject(source_app: str, source_ref: str, *, limit: int = 200) -> list[Alert]:
    """The alerts an app raised about one of its objects, newest first (for its pages; the
    caller has checked access to the object)."""
    return list(
        Alert.objects.filter(source_app=source_app, source_ref=source_ref).order_by("-created_at")[
            :limit
        ]
    )


def stop_escalation(alert_ids: Iterable[int], *, now: datetime, by: str) -> int:
    """Stop the ladders of these alerts (a check-in came, consent was withdrawn…). The
    alerts stay on the board until staff close them."""
    return Alert.objects.filter(pk__in=list(alert_ids), escalation_stopped_at__isnull=True).update(
        escalation_stopped_at=now, stopped_by=by, next_escalation_at=None
    )


def create_task(alert: Alert, *, kind: str, now: datetime) -> None:
    """Once per alert and kind (two monitors may both reach the step)."""
    Task.objects.get_or_create(alert=alert, kind=kind, defaults={"created_at": now})


# --- For other apps' ordering ----------------------------------------------------------------


def _at_risk_filter() -> dict[str, Any]:
    return {"state__in": LIVE_STATES, "is_drill": False, "kind__in": registry.at_risk_kinds()}


def people_with_open_alerts(person_ids: Iterable[Any]) -> set:
    """Of these people, those with an open or acknowledged (not drill) alert of a kind that
    puts a person at risk (registry: `person_at_risk`, e.g. a missed check-in or a duress
    PIN). Linkage puts their pairs first.

    One statement in plain SQL: linkage asks for every link a batch creates, and compiling
    the query through the ORM cost more than running it. Table and column names come from
    the model; ids, states and kinds are parameters.
    """
    ids = list(person_ids)
    kinds = registry.at_risk_kinds()
    if not ids or not kinds:
        return set()
    q = connection.ops.quote_name
    column = {name: q(_column(name)) for name in _AT_RISK_COLUMNS}
    pk = Person._meta.pk

    def marks(n: int) -> str:
        return ", ".join(["%s"] * n)

    sql = (
        f"SELECT DISTINCT {column['person']} FROM {q(Alert._meta.db_table)}"  # noqa: S608
        f" WHERE {column['person']} IN ({marks(len(ids))})"
        f" AND {column['state']} IN ({marks(len(LIVE_STATES))})"
        f" AND {column['is_drill']} = %s AND {column['kind']} IN ({marks(len(kinds))})"
    )
    params = [pk.get_db_prep_value(i, connection) for i in ids]
    params += [str(state) for state in LIVE_STATES] + [False] + kinds
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk.to_python(row[0]) for row in cursor.fetchall()}


_AT_RISK_COLUMNS = ("person", "state", "is_drill", "kind")


def open_alert_exists(person: str | OuterRef) -> Exists:
    """The same test as `people_with_open_alerts`, as SQL for an annotation: `person` names
    the outer query's person column (e.g. "person_a"), so a queue can order by it and
    still page in the database."""
    ref = OuterRef(person) if isinstance(person, str) else person
    return Exists(Alert.objects.filter(person=ref, **_at_risk_filter()))


# --- Staff: the board, acknowledgement, closing ----------------------------------------------


def visible_alerts(user: User) -> QuerySet[Alert]:
    _require_staff(user)
    return Alert.objects.filter(organisation_id=user.org_id)


def alert_board(user: User, *, include_closed: bool = False) -> list[Alert]:
    """Open and acknowledged alerts: highest priority first, then the oldest first."""
    qs = visible_alerts(user).select_related("person")
    if not include_closed:
        qs = qs.exclude(state=AlertState.CLOSED)
    alerts = list(qs.order_by("priority", "created_at")[:500])
    named = _name_subjects(user, alerts)
    audit.record(
        "checkin_alert.board",
        actor=user,
        object_type="checkin_alert",
        detail={"count": len(alerts), **({"named": named} if named else {})},
    )
    return alerts


def _name_subjects(user: User, alerts: Sequence[Alert]) -> list[str]:
    """Set each alert's `subject_name`: its person's display name where the user may see
    identities (people decides: case workers yes, analysts and auditors never), else None.
    Returns the codes of the people named, for the audit row."""
    names = people.display_names(user, (a.person for a in alerts if a.person_id))
    for alert in alerts:
        alert.subject_name = names.get(alert.person_id)
    return sorted({a.person.code for a in alerts if a.subject_name and a.person is not None})


def get_alert(user: User, alert_id: Any) -> Alert:
    try:
        alert = visible_alerts(user).select_related("person").get(pk=int(alert_id))
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(str(alert_id)) from None
    _name_subjects(user, [alert])
    return alert


def tasks_of(user: User, alert: Alert) -> list[Task]:
    return list(get_alert(user, alert.pk).tasks.order_by("created_at", "id"))


def acknowledge(user: User, alert: Alert, now: datetime | None = None) -> Alert:
    """Someone has it: the ladder stops. The alert stays on the board until closed."""
    alert = get_alert(user, alert.pk)
    now = now or timezone.now()
    with transaction.atomic():
        if Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
            state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user
        ):
            _stop(alert, now, "ack")
            audit.record(
                "checkin_alert.acknowledge",
                actor=user,
                object_type="checkin_alert",
                object_ref=str(alert.pk),
                detail={"kind": alert.kind},
            )
    alert.refresh_from_db()
    return alert


def close(user: User, alert: Alert, *, reason: str, now: datetime | None = None) -> Alert:
    alert = get_alert(user, alert.pk)
    now = now or timezone.now()
    if not reason.strip():
        raise InvalidInput({"reason": _("Closing an alert needs a reason.")})
    with transaction.atomic():
        if (
            Alert.objects.filter(pk=alert.pk)
            .exclude(state=AlertState.CLOSED)
            .update(
                state=AlertState.CLOSED,
                closed_at=now,
                closed_by=user,
                close_reason=reason.strip()[:500],
            )
        ):
            _stop(alert, now, "close")
            audit.record(
                "checkin_alert.close",
                actor=user,
                object_type="checkin_alert",
                object_ref=str(alert.pk),
                detail={"kind": alert.kind},
            )
    alert.refresh_from_db()
    return alert


def _stop(alert: Alert, now: datetime, by: str) -> None:
    stop_escalation([alert.pk], now=now, by=by)
    # The raising app stops what it drives (check-ins: the enrolment waits for its next
    # period again).
    alert_stopped.send(sender=Alert, alert=alert, now=now, by=by)


def complete_task(user: User, task_id: Any, now: datetime | None = None) -> None:
    _require_staff(user)
    now = now or timezone.now()
    try:
        task = Task.objects.get(pk=int(task_id), alert__organisation_id=user.org_id)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFound(str(task_id)) from None
    Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=now, done_by=user)
    audit.record(
        "checkin_task.done",
        actor=user,
        object_type="checkin_alert",
        object_ref=str(task.alert_id),
        detail={"task": task.kind},
    )


# --- The generic ladder (monitor pass) -------------------------------------------------------


def escalation_pass(options: Mapping[str, Any]) -> dict[str, int]:
    """The monitor's pass for the generic ladder (registered in AlertsConfig.ready)."""
    return escalate_due()


def escalate_due(now: datetime | None = None) -> dict[str, int]:
    """Walk the ladders of alerts raised with a policy whose next look has come.

    Each alert moves on with a conditional UPDATE on where its ladder stood, so two
    monitors never both notify a step; its messages go to the outbox in the same
    transaction. Acknowledging or closing clears `next_escalation_at`.
    """
    now = now or timezone.now()
    report = {"messages": 0}
    due = list(
        Alert.objects.filter(next_escalation_at__lte=now)
        .select_related("policy", "organisation", "person", "assignee")
        .order_by("next_escalation_at", "id")[:ESCALATE_BATCH]
    )
    cache: dict = {}
    for alert in due:
        with transaction.atomic():
            report["messages"] += _escalate(alert, now, cache)
    return report


def _escalate(alert: Alert, now: datetime, cache: dict) -> int:
    same = Alert.objects.filter(
        pk=alert.pk,
        next_escalation_at=alert.next_escalation_at,
        escalation_step=alert.escalation_step,
        reminder_round=alert.reminder_round,
    )
    policy = alert.policy
    if policy is None or alert.state != AlertState.OPEN or alert.escalation_stopped_at:
        same.update(next_escalation_at=None)
        return 0
    move = ladder.advance(
        policy.steps,
        step=alert.escalation_step,
        round_no=alert.reminder_round,
        last_notified=alert.last_notified_at,
        started_at=alert.created_at,
        repeat=timedelta(minutes=policy.repeat_minutes),
        now=now,
    )
    next_at = max(move.next_at, now + timedelta(seconds=1)) if move.next_at else None
    if not same.update(
        escalation_step=move.step,
        reminder_round=move.round_no,
        last_notified_at=move.last_notified,
        next_escalation_at=next_at,
    ):
        return 0  # another monitor moved it on
    notes: list[Notification] = []
    for step, target, round_no in move.notify:
        if target == Target.AUTHORITIES_TASK and round_no == 0 and not alert.is_drill:
            create_task(alert, kind="notify_authorities", now=now)
        if target == Target.TRUSTED_CONTACTS:
            if alert.person is not None:
                notes += notifications.for_trusted_contacts(alert, alert.person, step, round_no)
        elif target != Target.PERSON:  # the person has no channel outside check-ins
            notes += notifications.for_staff_step(alert, target, step, round_no, cache)
    return outbox.enqueue(notes, now) if notes else 0


# --- Escalation policies (organisation templates) --------------------------------------------


def default_policy(organisation) -> EscalationPolicy:
    policy, _created = EscalationPolicy.objects.get_or_create(
        organisation=organisation,
        name=DEFAULT_POLICY_NAME,
        defaults={"steps": DEFAULT_LADDER, "repeat_minutes": 60},
    )
    return policy


MAX_STEP_MINUTES = 30 * 24 * 60
MAX_REPEAT_MINUTES = 7 * 24 * 60


def validate_steps(steps: Any) -> list[PolicyStep]:
    if not isinstance(steps, list) or not steps:
        raise InvalidInput({"steps": _("Give at least one step.")})
    clean: list[PolicyStep] = []
    last = -1
    for i, step in enumerate(steps):
        try:
            after = int(step["after_minutes"])
            target = Target(step["to"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(
                {
                    "steps": _(
                        "Step %(n)s: give the minutes after the start and whom to notify "
                        "(one of %(targets)s)."
                    )
                    % {"n": i + 1, "targets": ", ".join(str(t.label) for t in Target)}
                }
            ) from None
        if after < last or after < 0:
            raise InvalidInput(
                {
                    "steps": _(
                        "Step %(n)s: the steps must be in time order (no fewer minutes than "
                        "the step before)."
                    )
                    % {"n": i + 1}
                }
            )
        if after > MAX_STEP_MINUTES:
            # A ladder's steps are added to the moment of the miss: a huge number would
            # overflow the date arithmetic in the monitor pass and stop every alert.
            raise InvalidInput(
                {
                    "steps": _("Step %(n)s: at most %(max)s minutes (30 days).")
                    % {"n": i + 1, "max": f"{MAX_STEP_MINUTES:,}"}
                }
            )
        last = after
        clean.append({"after_minutes": after, "to": target.value})
    return clean


def _policy_fields(name: str, steps: Any, repeat_minutes: Any) -> tuple[str, list[PolicyStep], int]:
    if not name.strip():
        raise InvalidInput({"name": _("A name is required.")})
    try:
        repeat = int(repeat_minutes)
    except (TypeError, ValueError):
        raise InvalidInput({"repeat_minutes": _("A number of minutes.")}) from None
    if repeat < 5:
        raise InvalidInput({"repeat_minutes": _("At least 5 minutes.")})
    if repeat > MAX_REPEAT_MINUTES:
        raise InvalidInput(
            {
                "repeat_minutes": _("At most %(max)s minutes (7 days).")
                % {"max": f"{MAX_REPEAT_MINUTES:,}"}
            }
        )
    return name.strip()[:100], validate_steps(steps), repeat


def create_policy(
    user: User,
    *,
    name: str,
    steps: Any,
    repeat_minutes: Any = 60,
    remind_person_at_due: bool = True,
) -> EscalationPolicy:
    """Escalation policies are organisation templates: supervisors and admins only."""
    accounts.require_role(user, Role.ADMIN, Role.SUPERVISOR)
    name, clean, repeat = _policy_fields(name, steps, repeat_minutes)
    if EscalationPolicy.objects.filter(organisation_id=user.org_id, name=name).exists():
        raise InvalidInput({"name": _("Another policy has this name.")})
    policy = EscalationPolicy.objects.create(
        organisation_id=user.org_id,
        name=name,
        steps=clean,
        repeat_minutes=repeat,
        remind_person_at_due=remind_person_at_due,
    )
    audit.record(
        "checkin_policy.create",
        actor=user,
        object_type="checkin_policy",
        object_ref=str(policy.pk),
        detail={"steps": len(policy.steps)},
    )
    return policy


def get_policy(user: User, policy_id: Any) -> EscalationPolicy:
    _require_staff(user)
    try:
        return EscalationPolicy.objects.get(pk=int(policy_id), organisation_id=user.org_id)
    except (EscalationPolicy.DoesNotExist, ValueError, TypeError):
        raise NotFound(str(policy_id)) from None


def update_policy(
    user: User,
    policy: EscalationPolicy,
    *,
    name: str,
    steps: Any,
    repeat_minutes: Any = 60,
    remind_person_at_due: bool = True,
) -> EscalationPolicy:
    """Change a policy template; every ladder using it follows the new steps from its next
    look. Supervisors and admins only; the caller has re-authenticated."""
    accounts.require_role(user, Role.ADMIN, Role.SUPERVISOR)
    policy = get_policy(user, policy.pk)
    name, clean, repeat = _policy_fields(name, steps, repeat_minutes)
    if (
        EscalationPolicy.objects.filter(organisation_id=user.org_id, name=name)
        .exclude(pk=policy.pk)
        .exists()
    ):
        raise InvalidInput({"name": _("Another policy has this name.")})
    with transaction.atomic():
        EscalationPolicy.objects.filter(pk=policy.pk).update(
            name=name, steps=clean, repeat_minutes=repeat, remind_person_at_due=remind_person_at_due
        )
        audit.record(
            "checkin_policy.update",
            actor=user,
            object_type="checkin_policy",
            object_ref=str(policy.pk),
            detail={"steps": len(clean), "repeat_minutes": repeat},
        )
    policy.refresh_from_db()
    return policy


def policies_for(user: User) -> QuerySet[EscalationPolicy]:
    _require_staff(user)
    default_policy(user.organisation)
    return EscalationPolicy.objects.filter(organisation_id=user.org_id)


def policies_by_id(ids: Iterable[int]) -> dict[int, EscalationPolicy]:
    """For the check-ins monitor, which loads each policy once per pass."""
    return EscalationPolicy.objects.in_bulk(list(ids))
