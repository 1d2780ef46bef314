"""The monitor: one pass finds due enrolments and moves each one step along (DESIGN §4).

Like healthchecks' `sendalerts`, but every effect of a step — the new enrolment state, the
alert, its outbox messages — is written in one transaction, and the state change is a
conditional UPDATE (`WHERE version = <what we read>`). So:
- two monitors never both act: the second one's UPDATE matches no row and it drops its
  work (on PostgreSQL they also skip each other's locked rows, so they share the load);
- a monitor that dies mid-pass leaves nothing half-done: the transaction rolls back and
  the enrolment is still due;
- a check-in racing the monitor wins or loses cleanly (it locks the same row).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from jikimi.accounts.models import Organisation, User
from jikimi.alerts import ladder
from jikimi.alerts import notifications as staff_notifications
from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert, Target
from jikimi.alerts.shapes import AlertDetail
from jikimi.audit import services as audit
from jikimi.core.sql import column_of, concrete_field, db_type_of, preparers, unnest
from jikimi.notify import services as outbox
from jikimi.notify.services import Notification

from . import notifications, services
from .models import (
    AlertKind,
    CheckIn,
    CheckInKind,
    Enrolment,
    EnrolmentStatus,
    Phase,
)
from .shapes import DuressDetail, MissedDetail, WrongPinsDetail

log = logging.getLogger("jikimi.checkins")

# One transaction (one commit, one round trip per statement) per 1,000 due enrolments.
BATCH = 1000


@dataclass
class PassReport:
    processed: int = 0
    skipped: int = 0  # another monitor (or a check-in) got there first
    alerts: int = 0
    messages: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class _Work:
    """What one step decided: applied only if the conditional UPDATE succeeds."""

    changes: dict = field(default_factory=dict)
    alerts: list[tuple[Alert, str]] = field(default_factory=list)  # (alert, label)
    ladder: list[tuple[int, str, int]] = field(default_factory=list)  # (step, target, round)
    person_reminder: str = ""
    alerted_checkins: list[int] = field(default_factory=list)  # their alert_pending is done
    ladder_alert: Alert | None = None


def run_pass(now: datetime | None = None, *, batch: int = BATCH) -> PassReport:
    """Process every enrolment due at `now`, in batches of `batch`, one transaction each."""
    now = now or timezone.now()
    report = PassReport()
    seen: set = set()
    staff_cache: dict = {}
    while True:
        with transaction.atomic():
            qs = Enrolment.objects.filter(next_action_at__lte=now).order_by("next_action_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                # Two monitors on PostgreSQL share the work instead of queueing on locks.
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = list(qs.select_related("person")[:batch])
            fresh = [r for r in rows if r.pk not in seen]
            seen.update(r.pk for r in fresh)
            if fresh:
                _attach_shared(fresh, staff_cache)
                _process_batch(fresh, now, report, staff_cache)
        # A row still due after processing (it never should be) is not picked twice in one
        # pass: `seen` makes sure the loop ends.
        if len(rows) < batch or not fresh:
            break
    return report


def _attach_shared(rows: list[Enrolment], cache: dict) -> None:
    """Policies, organisations and case workers are few and shared by many enrolments:
    load each once per pass instead of joining them into every row."""
    for attr, load in (
        ("policy", alerts.policies_by_id),
        ("organisation", Organisation.objects.in_bulk),
        ("caseworker", User.objects.in_bulk),
    ):
        known = cache.setdefault(attr, {})
        missing = {getattr(r, f"{attr}_id") for r in rows} - known.keys()
        if missing:
            known.update(load(list(missing)))
        for row in rows:
            setattr(row, attr, known[getattr(row, f"{attr}_id")])


class _Conflict(Exception):
    """A conditional UPDATE matched fewer rows than expected: someone else acted."""


def _process_batch(
    rows: list[Enrolment], now: datetime, report: PassReport, staff_cache: dict
) -> None:
    """Optimistically process the whole batch with set-based writes; if any row's version
    moved (which the row locks make all but impossible), undo the batch and redo it row by
    row, skipping the rows someone else changed."""
    try:
        with transaction.atomic():
            _process_rows(rows, now, report, staff_cache)
        return
    except _Conflict:
        pass
    for row in rows:
        try:
            with transaction.atomic():
                _process_rows([row], now, report, staff_cache)
        except _Conflict:
            report.skipped += 1


def _process_rows(
    rows: list[Enrolment], now: datetime, report: PassReport, staff_cache: dict
) -> None:
    """1. Decide each row. 2. Insert the new alerts. 3. Move every row on with one
    conditional UPDATE per shape (`WHERE id = … AND version = …`); fewer rows matched than
    expected → _Conflict, and the caller's savepoint undoes everything here. 4. Queue the
    messages, mark the pending check-ins alerted, write one audit event for the batch."""
    pending: dict = {}
    for checkin in CheckIn.objects.filter(
        enrolment_id__in=[r.pk for r in rows], alert_pending=True
    ).order_by("id"):
        pending.setdefault(checkin.enrolment_id, []).append(checkin)
    works = [(row, _decide(row, now, pending.get(row.pk, []))) for row in rows]
    # 2.
    candidates = [alert for _, work in works for alert, _ in work.alerts]
    created = alerts.raise_alerts(candidates)
    created_keys = {a.key for a in created}
    open_ids = {row.open_alert_id for row, work in works if work.ladder and row.open_alert_id}
    open_alerts = alerts.alerts_by_id(open_ids)
    known = [w.changes["_missed_alert"] for _, w in works if "_missed_alert" in w.changes]
    known_ids = alerts.alert_ids_for_keys(a.key for a in known if a.pk is None)
    # 3.
    shapes: dict[tuple, list] = {}
    for row, work in works:
        missed = work.changes.pop("_missed_alert", None)
        if missed is not None:
            if missed.pk is None:  # it existed already: point at that one
                missed.pk = known_ids[missed.key]
            work.changes["open_alert_id"] = missed.pk
            work.ladder_alert = missed
        elif work.ladder:
            assert row.open_alert_id is not None, row.pk  # an escalating ladder has its alert
            work.ladder_alert = open_alerts[row.open_alert_id]
            _attach_subject(work.ladder_alert, row)
        shapes.setdefault(tuple(sorted(work.changes)), []).append((row, work.changes))
    for columns, items in shapes.items():
        _conditional_update(columns, items)
    # 4.
    notes: list[Notification] = []
    for row, work in works:
        report.processed += 1
        for alert, label in work.alerts:
            if alert.key not in created_keys:
                continue
            report.alerts += 1
            report.kinds[alert.kind] = report.kinds.get(alert.kind, 0) + 1
            if alert.kind != AlertKind.MISSED:  # the ladder notifies for missed ones
                notes += staff_notifications.for_staff_alert(
                    alert, label, staff_cache, caseworker=row.caseworker
                )
        if work.person_reminder:
            notes += notifications.for_person(
                row, key=work.person_reminder, ref=f"reminder:{row.pk}"
            )
        for step, target, round_no in work.ladder:
            ladder_alert = work.ladder_alert
            assert ladder_alert is not None, row.pk  # set above for every enrolment with a ladder
            if target == Target.AUTHORITIES_TASK and round_no == 0 and not ladder_alert.is_drill:
                alerts.create_task(ladder_alert, kind="notify_authorities", now=now)
            notes += notifications.for_step(row, ladder_alert, target, step, round_no, staff_cache)
    alerted = [c for _, work in works for c in work.alerted_checkins]
    if alerted:
        CheckIn.objects.filter(pk__in=alerted).update(alert_pending=False)
    if notes:
        report.messages += outbox.enqueue(notes, now)
    # One audit event per organisation and batch (ids and counts only), not one per alert:
    # the audit chain is a single lock, and a pass may raise a thousand alerts.
    by_org: dict[int, list[Alert]] = {}
    for alert in created:
        by_org.setdefault(alert.organisation_id, []).append(alert)
    for organisation_id, raised in by_org.items():
        kinds: dict[str, int] = {}
        for alert in raised:
            kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
        audit.record(
            "checkin_alert.raise",
            object_type="checkin_alert",
            object_ref=str(raised[0].pk),
            organisation_id=organisation_id,
            detail={"kinds": kinds, "alerts": [a.pk for a in raised]},
        )


def _conditional_update(columns: tuple, items: list[tuple[Enrolment, dict]]) -> None:
    """Move many rows on, each only if its version is still the one we read.

    PostgreSQL: one `UPDATE … FROM unnest(<one array per column>) AS v WHERE id = v.id AND
    version = v.version` (a single short statement). SQLite: `UPDATE … WHERE id = %s AND
    version = %s` through executemany (in-process, so round trips cost nothing). Either way
    the matched row count
    must equal the number of rows, else _Conflict.
    """
    q = connection.ops.quote_name
    fields = [concrete_field(Enrolment, c) for c in columns]
    pk_field = Enrolment._meta.pk
    db = connections[connection.alias]
    preps = list(zip(columns, preparers(fields, db), strict=True))
    rows = [
        [pk_field.get_db_prep_save(row.pk, db), row.version]
        + [prep(changes[c]) for c, prep in preps]
        for row, changes in items
    ]
    table = q(Enrolment._meta.db_table)
    # Only quoted model column names and column types are interpolated; values are parameters.
    if connection.vendor == "postgresql":
        casts = [db_type_of(pk_field, connection), "integer"]
        casts += [db_type_of(f, connection) for f in fields]
        names = ["id_", "version_"] + [f"c{i}" for i in range(len(fields))]
        sets = "".join(
            f", {q(column_of(f))} = v.{n}" for f, n in zip(fields, names[2:], strict=True)
        )
        source, arrays = unnest(casts, rows)
        sql = (
            f"UPDATE {table} AS e SET {q('version')} = e.{q('version')} + 1{sets} "  # noqa: S608
            f"FROM {source} AS v({', '.join(names)}) "
            f"WHERE e.{q('id')} = v.id_ AND e.{q('version')} = v.version_"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, arrays)
            matched = cursor.rowcount
    else:
        sets = "".join(f", {q(column_of(f))} = %s" for f in fields)
        sql = (
            f"UPDATE {table} SET {q('version')} = {q('version')} + 1{sets} "  # noqa: S608
            f"WHERE {q('id')} = %s AND {q('version')} = %s"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, [row[2:] + row[:2] for row in rows])
            matched = cursor.rowcount
    if matched != len(items):
        raise _Conflict()


def _new_alert(row: Enrolment, kind: str, key: str, now: datetime, detail: AlertDetail) -> Alert:
    alert = alerts.new_alert(
        organisation_id=row.organisation_id,
        kind=kind,
        key=key,
        detail=detail,
        now=now,
        person=row.person,
        source_app=services.SOURCE_APP,
        source_ref=str(row.pk),
        assignee=row.caseworker,
        is_drill=row.is_drill,
    )
    _attach_subject(alert, row)
    return alert


def _attach_subject(alert: Alert, row: Enrolment) -> None:
    """The rows the pass has already loaded, so building messages costs no query."""
    _ORGANISATION.set_cached_value(alert, row.organisation)
    _PERSON.set_cached_value(alert, row.person)


_ORGANISATION, _PERSON = Alert._meta.get_field("organisation"), Alert._meta.get_field("person")


def _decide(row: Enrolment, now: datetime, pending: list[CheckIn]) -> _Work:
    """Steps, in order:
    1. Check-ins that still owe an alert (`alert_pending`) → a duress alert each
       (priority 0, to staff at once), or one wrong-PIN alert per window, decided from the
       recorded attempt whenever the monitor runs (after a gap too).
    2. A pause that ran out → active again, next period from now.
    3. Waiting and due → remind the person, grace starts. Grace over → missed: an alert,
       and the ladder starts.
    4. Escalating → notify steps newly reached; remind earlier steps every repeat_minutes
       (alerts.ladder).
    5. The next deadline is the earliest of whatever comes next.
    """
    from .services import _next_due

    work = _Work()
    c = work.changes
    # 1.
    for checkin in pending:
        if checkin.kind == CheckInKind.DURESS:
            work.alerts.append(
                (
                    _new_alert(
                        row,
                        AlertKind.DURESS,
                        f"duress:{checkin.pk}",
                        now,
                        DuressDetail(channel=checkin.channel, requested=checkin.requested),
                    ),
                    "DURESS PIN USED. Act now; do not contact the person in a way "
                    "that could reveal the alarm.",
                )
            )
        elif checkin.window_start is not None:
            # The key names the window, as it always has: one alert per window.
            key = f"wrong_pins:{row.pk}:{checkin.window_start.isoformat()}"
            work.alerts.append(
                (
                    _new_alert(
                        row,
                        AlertKind.WRONG_PINS,
                        key,
                        now,
                        WrongPinsDetail(
                            count=_wrong_in_window(checkin.enrolment_id, checkin.window_start)
                        ),
                    ),
                    "Repeated wrong PINs.",
                )
            )
        work.alerted_checkins.append(checkin.pk)
    status, phase = row.status, row.phase
    next_due, missed_at = row.next_due_at, row.missed_at
    step, round_no, last_notified = row.escalation_step, row.reminder_round, row.last_notified_at
    # 2.
    if status == EnrolmentStatus.PAUSED and row.paused_until and row.paused_until <= now:
        status, phase = EnrolmentStatus.ACTIVE, Phase.WAITING
        next_due, missed_at, step = _next_due(row, now), None, 0
        c.update(status=status, paused_until=None, open_alert_id=None)
    if status != EnrolmentStatus.ACTIVE:
        c.update(next_action_at=row.paused_until if status == EnrolmentStatus.PAUSED else None)
        return work
    policy = row.policy
    grace_end = next_due + timedelta(minutes=row.grace_minutes) if next_due else None
    # 3.
    if phase == Phase.WAITING and next_due and grace_end and now >= next_due:
        if now < grace_end:
            phase = Phase.GRACE
            if policy.remind_person_at_due:
                work.person_reminder = f"reminder:{row.pk}:{next_due.isoformat()}"
        else:
            phase = Phase.GRACE  # the monitor was behind: straight on to missed
    if phase == Phase.GRACE and next_due and grace_end and now >= grace_end:
        phase, missed_at, step, round_no, last_notified = (Phase.ESCALATING, grace_end, 0, 0, None)
        alert = _new_alert(
            row,
            AlertKind.MISSED,
            f"missed:{row.pk}:{next_due.isoformat()}",
            now,
            MissedDetail(due=next_due.isoformat()),
        )
        work.alerts.append((alert, ""))
        work.changes["_missed_alert"] = alert  # _process points the enrolment at it
    # 4.
    steps = policy.steps
    # A policy changed mid-ladder may now have fewer steps than were reached: clamp.
    step = min(step, len(steps))
    candidates = []
    if phase == Phase.ESCALATING:
        # An escalating enrolment always has the moment it was missed (set with the phase).
        assert missed_at is not None, row.pk
        move = ladder.advance(
            steps,
            step=step,
            round_no=round_no,
            last_notified=last_notified,
            started_at=missed_at,
            repeat=timedelta(minutes=policy.repeat_minutes),
            now=now,
        )
        work.ladder = move.notify
        step, round_no, last_notified = move.step, move.round_no, move.last_notified
        if move.next_at is not None:
            candidates.append(move.next_at)
    # 5.
    elif phase == Phase.WAITING and next_due:
        candidates.append(next_due)
    elif phase == Phase.GRACE and grace_end:
        candidates.append(grace_end)
    c.update(
        phase=phase,
        next_due_at=next_due,
        missed_at=missed_at,
        escalation_step=step,
        reminder_round=round_no,
        last_notified_at=last_notified,
        next_action_at=max(min(candidates), now + timedelta(seconds=1)) if candidates else None,
    )
    return work


def _wrong_in_window(enrolment_id: uuid.UUID, window_start: datetime) -> int:
    """Wrong (and refused) PINs recorded in the check-in's window: the alert's count, read
    from the attempts rather than the enrolment's counter, which a later check-in resets."""
    from .services import WRONG_WINDOW

    return CheckIn.objects.filter(
        enrolment_id=enrolment_id,
        kind__in=(CheckInKind.WRONG, CheckInKind.LOCKED),
        at__gte=window_start,
        at__lt=window_start + WRONG_WINDOW,
    ).count()


def monitor_pass(options: Mapping[str, Any]) -> dict[str, int]:
    """The check-ins pass of `jikimi monitor` (registered in CheckinsConfig.ready)."""
    report = run_pass()
    return {"processed": report.processed, "alerts": report.alerts, "messages": report.messages}


def prune_pass(options: Mapping[str, Any]) -> dict[str, int]:
    """Forget ended wrong-PIN windows of web addresses (every minute is plenty)."""
    services.prune_ip_strikes()
    return {}


def run_once(
    now: datetime | None = None,
    *,
    deliver: bool = True,
    lease_seconds: float = outbox.LEASE_SECONDS,
) -> tuple[PassReport, int]:
    """One check-ins pass, then (as `jikimi monitor` would) the outbox until nothing due
    is left. For tests and scripts; the monitor itself runs every app's registered pass."""
    report = run_pass(now)
    sent = outbox.deliver_all(lease_seconds) if deliver else 0
    return report, sent
