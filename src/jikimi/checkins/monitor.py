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
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import close_old_connections, connection, connections, transaction
from django.utils import timezone

from jikimi.accounts.models import Organisation, User
from jikimi.audit import services as audit
from jikimi.notify import services as outbox
from jikimi.notify.bulk import preparers, unnest
from jikimi.notify.services import Notification

from . import notifications, services
from .models import (
    PRIORITY,
    Alert,
    AlertKind,
    CheckIn,
    Enrolment,
    EnrolmentStatus,
    EscalationPolicy,
    Phase,
    Target,
    Task,
)

log = logging.getLogger("jikimi.checkins")

# One transaction (one commit, one round trip per statement) per 1,000 due enrolments.
BATCH = 1000
PRUNE_EVERY_SECONDS = 60  # forget ended wrong-PIN windows of web addresses


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
    duress_checkins: list[int] = field(default_factory=list)
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
    for attr, model in (
        ("policy", EscalationPolicy),
        ("organisation", Organisation),
        ("caseworker", User),
    ):
        known = cache.setdefault(attr, {})
        missing = {getattr(r, f"{attr}_id") for r in rows} - known.keys()
        if missing:
            known.update(model.objects.in_bulk(missing))
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
    messages, mark duress check-ins alerted, write one audit event for the batch."""
    pending: dict = {}
    for checkin in CheckIn.objects.filter(
        enrolment_id__in=[r.pk for r in rows], alert_pending=True
    ).order_by("id"):
        pending.setdefault(checkin.enrolment_id, []).append(checkin)
    works = [(row, _decide(row, now, pending.get(row.pk, []))) for row in rows]
    # 2.
    candidates = [alert for _, work in works for alert, _ in work.alerts]
    created = _insert_alerts(candidates)
    created_keys = {a.key for a in created}
    open_ids = {row.open_alert_id for row, work in works if work.ladder and row.open_alert_id}
    open_alerts = Alert.objects.in_bulk(open_ids)
    # 3.
    shapes: dict[tuple, list] = {}
    for row, work in works:
        missed = work.changes.pop("_missed_alert", None)
        if missed is not None:
            if missed.pk is None:  # it existed already: point at that one
                missed.pk = Alert.objects.get(key=missed.key).pk
            work.changes["open_alert_id"] = missed.pk
            work.ladder_alert = missed
        elif work.ladder:
            work.ladder_alert = open_alerts[row.open_alert_id]
            work.ladder_alert.enrolment, work.ladder_alert.organisation = row, row.organisation
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
                notes += notifications.for_staff_alert(alert, label, staff_cache)
        if work.person_reminder:
            notes += notifications.for_person(
                row, key=work.person_reminder, ref=f"reminder:{row.pk}"
            )
        for step, target, round_no in work.ladder:
            alert = work.ladder_alert
            if target == Target.AUTHORITIES_TASK and round_no == 0 and not alert.is_drill:
                Task.objects.get_or_create(
                    alert=alert, kind="notify_authorities", defaults={"created_at": now}
                )
            notes += notifications.for_step(alert, target, step, round_no, staff_cache)
    duress_ids = [c for _, work in works for c in work.duress_checkins]
    if duress_ids:
        CheckIn.objects.filter(pk__in=duress_ids).update(alert_pending=False)
    if notes:
        report.messages += outbox.enqueue(notes, now)
    # One audit event per organisation and batch (ids and counts only), not one per alert:
    # the audit chain is a single lock, and a pass may raise a thousand alerts.
    by_org: dict[int, list[Alert]] = {}
    for alert in created:
        by_org.setdefault(alert.organisation_id, []).append(alert)
    for organisation_id, alerts in by_org.items():
        kinds: dict[str, int] = {}
        for alert in alerts:
            kinds[alert.kind] = kinds.get(alert.kind, 0) + 1
        audit.record(
            "checkin_alert.raise",
            object_type="checkin_alert",
            object_ref=str(alerts[0].pk),
            organisation_id=organisation_id,
            detail={"kinds": kinds, "alerts": [a.pk for a in alerts]},
        )


def _insert_alerts(alerts: list[Alert]) -> list[Alert]:
    """Insert the alerts whose key is new; return those, with their ids.

    `INSERT … ON CONFLICT (key) DO NOTHING RETURNING id, key` (PostgreSQL, SQLite ≥ 3.35):
    one statement per chunk instead of a SELECT for known keys and an ORM bulk_create, whose
    per-value compilation cost more than the database work. A key raised meanwhile by
    another monitor is skipped here rather than failing the batch. Values go through each
    field's pre_save/get_db_prep_save, as the ORM would do.
    """
    if not alerts:
        return []
    q = connection.ops.quote_name
    fields = [f for f in Alert._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(q(f.column) for f in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = q(Alert._meta.db_table)
    by_key = {a.key: a for a in alerts}
    created: list[Alert] = []
    preps = list(zip(fields, preparers(fields, connections[connection.alias]), strict=True))
    returning = f"ON CONFLICT ({q('key')}) DO NOTHING RETURNING {q('id')}, {q('key')}"
    per = max(1, 30_000 // len(fields))  # SQLite allows 32,766 parameters
    with connection.cursor() as cursor:
        for start in range(0, len(alerts), per):
            chunk = alerts[start : start + per]
            rows = [[prep(f.pre_save(a, True)) for f, prep in preps] for a in chunk]
            if connection.vendor == "postgresql":
                source, arrays = unnest([f.db_type(connection) for f in fields], rows)
                sql = f"INSERT INTO {table} ({columns}) SELECT * FROM {source} {returning}"  # noqa: S608
                cursor.execute(sql, arrays)
            else:
                values = ", ".join([row_sql] * len(chunk))
                sql = f"INSERT INTO {table} ({columns}) VALUES {values} {returning}"  # noqa: S608
                cursor.execute(sql, [v for row in rows for v in row])
            for pk, key in cursor.fetchall():
                alert = by_key[key]
                alert.pk = pk
                alert._state.adding, alert._state.db = False, connection.alias
                created.append(alert)
    return created


def _conditional_update(columns: tuple, items: list[tuple[Enrolment, dict]]) -> None:
    """Move many rows on, each only if its version is still the one we read.

    PostgreSQL: one `UPDATE … FROM unnest(<one array per column>) AS v WHERE id = v.id AND
    version = v.version` (a single short statement). SQLite: `UPDATE … WHERE id = %s AND
    version = %s` through executemany (in-process, so round trips cost nothing). Either way
    the matched row count
    must equal the number of rows, else _Conflict.
    """
    q = connection.ops.quote_name
    fields = [Enrolment._meta.get_field(c) for c in columns]
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
        casts = [pk_field.db_type(connection), "integer"] + [f.db_type(connection) for f in fields]
        names = ["id_", "version_"] + [f"c{i}" for i in range(len(fields))]
        sets = "".join(f", {q(f.column)} = v.{n}" for f, n in zip(fields, names[2:], strict=True))
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
        sets = "".join(f", {q(f.column)} = %s" for f in fields)
        sql = (
            f"UPDATE {table} SET {q('version')} = {q('version')} + 1{sets} "  # noqa: S608
            f"WHERE {q('id')} = %s AND {q('version')} = %s"
        )
        with connection.cursor() as cursor:
            cursor.executemany(sql, [row[2:] + row[:2] for row in rows])
            matched = cursor.rowcount
    if matched != len(items):
        raise _Conflict()


def _new_alert(row: Enrolment, kind: str, key: str, now: datetime, **detail) -> Alert:
    alert = Alert(
        organisation_id=row.organisation_id,
        enrolment=row,
        kind=kind,
        priority=PRIORITY[kind],
        key=key,
        is_drill=row.is_drill,
        created_at=now,
        detail=detail,
    )
    alert.enrolment = row
    alert.organisation = row.organisation
    return alert


def _decide(row: Enrolment, now: datetime, pending_duress: list[CheckIn]) -> _Work:
    """Steps, in order:
    1. Duress check-ins not yet alerted → a priority-0 alert each, to staff at once.
    2. Wrong PINs over the threshold in the window → one alert per window.
    3. A pause that ran out → active again, next period from now.
    4. Waiting and due → remind the person, grace starts. Grace over → missed: an alert,
       and the ladder starts.
    5. Escalating → notify steps newly reached; remind earlier steps every repeat_minutes.
    6. The next deadline is the earliest of whatever comes next.
    """
    from .services import WRONG_ALERT_AT, WRONG_WINDOW, _next_due

    work = _Work()
    c = work.changes
    # 1.
    for checkin in pending_duress:
        work.alerts.append(
            (
                _new_alert(
                    row,
                    AlertKind.DURESS,
                    f"duress:{checkin.pk}",
                    now,
                    channel=checkin.channel,
                    requested=checkin.requested,
                ),
                "DURESS PIN USED. Act now; do not contact the person in a way "
                "that could reveal the alarm.",
            )
        )
        work.duress_checkins.append(checkin.pk)
    # 2.
    if (
        row.wrong_pins >= WRONG_ALERT_AT
        and row.wrong_window_start
        and now - row.wrong_window_start < WRONG_WINDOW * 2
    ):
        key = f"wrong_pins:{row.pk}:{row.wrong_window_start.isoformat()}"
        work.alerts.append(
            (
                _new_alert(row, AlertKind.WRONG_PINS, key, now, count=row.wrong_pins),
                "Repeated wrong PINs.",
            )
        )
    status, phase = row.status, row.phase
    next_due, missed_at = row.next_due_at, row.missed_at
    step, round_no, last_notified = row.escalation_step, row.reminder_round, row.last_notified_at
    # 3.
    if status == EnrolmentStatus.PAUSED and row.paused_until and row.paused_until <= now:
        status, phase = EnrolmentStatus.ACTIVE, Phase.WAITING
        next_due, missed_at, step = _next_due(row, now), None, 0
        c.update(status=status, paused_until=None, open_alert_id=None)
    if status != EnrolmentStatus.ACTIVE:
        c.update(next_action_at=row.paused_until if status == EnrolmentStatus.PAUSED else None)
        return work
    policy = row.policy
    grace_end = next_due + timedelta(minutes=row.grace_minutes) if next_due else None
    # 4.
    if phase == Phase.WAITING and next_due and now >= next_due:
        if now < grace_end:
            phase = Phase.GRACE
            if policy.remind_person_at_due:
                work.person_reminder = f"reminder:{row.pk}:{next_due.isoformat()}"
        else:
            phase = Phase.GRACE  # the monitor was behind: straight on to missed
    if phase == Phase.GRACE and grace_end and now >= grace_end:
        phase, missed_at, step, round_no, last_notified = (Phase.ESCALATING, grace_end, 0, 0, None)
        alert = _new_alert(
            row,
            AlertKind.MISSED,
            f"missed:{row.pk}:{next_due.isoformat()}",
            now,
            due=next_due.isoformat(),
        )
        work.alerts.append((alert, ""))
        work.changes["_missed_alert"] = alert  # _process points the enrolment at it
    # 5.
    repeat = timedelta(minutes=policy.repeat_minutes)
    steps = policy.steps
    # A policy changed mid-ladder may now have fewer steps than were reached: clamp, or an
    # IndexError would stop the monitor for the whole batch on every pass.
    step = min(step, len(steps))
    if phase == Phase.ESCALATING:
        elapsed = now - missed_at
        reached = step
        while (
            reached < len(steps) and timedelta(minutes=steps[reached]["after_minutes"]) <= elapsed
        ):
            reached += 1
        if last_notified and now >= last_notified + repeat and step > 0:
            round_no += 1
            work.ladder += [
                (i, steps[i]["to"], round_no)
                for i in range(step)
                if steps[i]["to"] != Target.AUTHORITIES_TASK
            ]
        work.ladder += [(i, steps[i]["to"], 0) for i in range(step, reached)]
        if work.ladder:
            last_notified = now
        step = reached
    # 6.
    candidates = []
    if phase == Phase.WAITING and next_due:
        candidates.append(next_due)
    elif phase == Phase.GRACE and grace_end:
        candidates.append(grace_end)
    elif phase == Phase.ESCALATING:
        if step < len(steps):
            candidates.append(missed_at + timedelta(minutes=steps[step]["after_minutes"]))
        if step > 0:
            candidates.append((last_notified or now) + repeat)
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


def run_once(
    now: datetime | None = None,
    *,
    deliver: bool = True,
    lease_seconds: float = outbox.LEASE_SECONDS,
) -> tuple[PassReport, int]:
    """One monitor pass, then deliver the outbox until nothing due is left."""
    report = run_pass(now)
    sent = 0
    if deliver:
        while True:
            delivery = outbox.deliver_due(lease_seconds=lease_seconds)
            sent += delivery.sent
            if delivery.sent + delivery.failed + delivery.blocked == 0 or delivery.failed:
                break
    return report, sent


def monitor_loop(
    stop: threading.Event,
    interval: float = 1.0,
    *,
    deliver: bool = True,
    lease_seconds: float = outbox.LEASE_SECONDS,
) -> None:
    """Run passes until `stop` is set. Registered with `jikimi serve` (apps.py).

    An error in one pass (a database restart, say) is logged and the loop goes on: a
    monitor that stops silently is exactly the failure this app exists to prevent.
    """
    pruned_at = 0.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
            run_once(deliver=deliver, lease_seconds=lease_seconds)
            if started - pruned_at >= PRUNE_EVERY_SECONDS:
                services.prune_ip_strikes()
                pruned_at = started
        except Exception:
            log.exception("monitor pass failed; retrying")
            try:
                connection.close()
            except Exception:  # noqa: S110 - closing a broken connection may fail too
                pass
        stop.wait(max(0.05, interval - (time.monotonic() - started)))
    connection.close()
