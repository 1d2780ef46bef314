"""The person's check-in: PIN, duress PIN and wrong PINs in one code path.

The person's functions authenticate by their token and PIN. The side is built so that
nobody watching the person — a coercer holding the phone — can tell a normal check-in from
a duress PIN or a wrong PIN: the same response, the same kind and number of database
writes, and the duress alert raised by the monitor from a row written in the same
transaction as the check-in (so it cannot be lost and does not slow the response).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from datetime import datetime, timedelta
from typing import cast

from django.db import connection, transaction
from django.db.models import Field, ForeignKey
from django.utils import timezone

from jikimi.alerts import services as alerts
from jikimi.audit import services as audit
from jikimi.core.crypto import blind_index
from jikimi.core.sql import column_of, concrete_field
from jikimi.people import services as people

from .. import pins
from ..models import (
    CheckIn,
    CheckInKind,
    Enrolment,
    EnrolmentStatus,
    IpStrike,
    Phase,
)
from .enrolment import MAX_PAUSE_DAYS, _keep_pending_work, _next_due, _token_index

# Wrong PINs: after WRONG_ALERT_AT in a window staff are alerted; after WRONG_LOCK_AT even
# the right PIN no longer counts until the window ends (the duress PIN always does).
WRONG_WINDOW = timedelta(minutes=15)
WRONG_ALERT_AT = 3
WRONG_LOCK_AT = 5
IP_WRONG_LIMIT = 30

# --- The person's check-in ------------------------------------------------------------------


def enrolment_for_token(token: str) -> Enrolment | None:
    if not token or len(token) > 100:
        return None
    return Enrolment.objects.filter(token_index=_token_index(token)).first()


def _ip_key(ip: str) -> str:
    return blind_index("checkin-wrong-ip", ip or "-")


class PersonAction:
    CHECKIN = "checkin"
    PAUSE = "pause"
    WITHDRAW = "withdraw"


def record_checkin(
    enrolment: Enrolment | None,
    pin: str,
    *,
    token: str | None = None,
    channel: str,
    ip: str = "",
    action: str = PersonAction.CHECKIN,
    pause_days: int = 0,
    now: datetime | None = None,
) -> str:
    """Check in (or pause, or withdraw) with a PIN. Returns the kind recorded (for staff).

    1. Classify the PIN as ok / duress / wrong in constant time (pins.classify).
    2. Rate limit: past WRONG_LOCK_AT wrong PINs in the window, or too many from one IP,
       a correct PIN counts as no check-in ("locked"). A duress PIN is always honoured:
       raising an alarm can never help an attacker.
    3. One transaction with the same shape for every outcome: insert a CheckIn, update the
       enrolment row. A duress PIN, and the wrong PIN that reaches WRONG_ALERT_AT, mark
       their CheckIn `alert_pending` and set `next_action_at` to now: the monitor raises
       the alert from that row within a second — or, after a gap, whenever it next runs.
    Under duress, pause and withdrawal are *not* applied: monitoring goes on, and the
    person sees exactly what a real pause or withdrawal shows.

    Pass the enrolment, or its `token` (the web and SMS doors): the token is looked up
    inside the transaction, under the row lock, saving a query per check-in.
    """
    now = now or timezone.now()
    connection.ensure_connection()  # not while holding the write gate
    with _sqlite_writer_gate(), transaction.atomic():
        if token is not None:
            row = (
                _locked_row("token_index", _token_index(token))
                if token and len(token) <= 100
                else None
            )
        else:
            row = _locked_row("id", enrolment.pk) if enrolment is not None else None
        if row is None:
            pins.classify("-", "", "", pin)  # the same work as a real check
            return "unknown"
        kind = pins.classify(row.pk, row.pin_hash, row.duress_hash, pin)
        # Per-address limit for the web only: SMS all arrive from the gateway's address, and
        # a shared counter would let one person's typos lock everyone out. A right and a
        # duress PIN do the same read; only a wrong one adds to the count (and waits for
        # that row's lock).
        ip_wrong = _ip_strikes(ip, now, add=kind == "wrong") if ip else 0
        in_window = (
            row.wrong_window_start is not None and now - row.wrong_window_start < WRONG_WINDOW
        )
        wrong_so_far = row.wrong_pins if in_window else 0
        if kind == "ok" and (wrong_so_far >= WRONG_LOCK_AT or ip_wrong >= IP_WRONG_LIMIT):
            kind = "locked"
        changes: dict = {"version": row.version + 1}
        alert_pending = False
        requested = ""
        window_start: datetime | None = None
        live = row.status in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED)
        if kind == "duress" and not live:
            # Withdrawn (or still in set-up) but the duress PIN: the alarm still goes off.
            changes["next_action_at"] = now
            alert_pending = True
        elif kind in ("ok", "duress") and live:
            changes.update(_checkin_changes(row, now))
            if kind == "ok" and action == PersonAction.PAUSE:
                until = now + timedelta(days=max(1, min(int(pause_days or 1), MAX_PAUSE_DAYS)))
                changes.update(
                    status=EnrolmentStatus.PAUSED, paused_until=until, next_action_at=until
                )
            elif kind == "ok" and action == PersonAction.WITHDRAW:
                changes.update(status=EnrolmentStatus.WITHDRAWN, next_action_at=None)
            if kind == "duress":
                alert_pending = True
                requested = action if action != PersonAction.CHECKIN else ""
                changes["next_action_at"] = now
        else:
            if kind not in ("ok", "duress"):
                kind = kind if kind == "locked" else "wrong"
            window_start = row.wrong_window_start if in_window else now
            changes.update(wrong_pins=wrong_so_far + 1, wrong_window_start=window_start)
            if wrong_so_far + 1 == WRONG_ALERT_AT and row.status == EnrolmentStatus.ACTIVE:
                # The alert is owed from this recorded attempt, like a duress alert: the
                # monitor raises it whenever it next runs, even after a gap or a check-in
                # that has reset the counter meanwhile.
                changes["next_action_at"] = now
                alert_pending = True
        _keep_pending_work(row, changes, now)
        checkin_kind = {
            ("ok", PersonAction.PAUSE): CheckInKind.PAUSE,
            ("ok", PersonAction.WITHDRAW): CheckInKind.WITHDRAW,
        }.get((kind, action), kind if kind != "ok" else CheckInKind.OK)
        _insert_checkin(row.pk, now, checkin_kind, channel, alert_pending, requested, window_start)
        _update_locked_row(row, changes)
        if checkin_kind == CheckInKind.WITHDRAW:
            # The person's own "stop" is a withdrawal of consent, recorded as the staff path
            # records it (issue 12.12), so nobody re-enrols them without a new consent. Only
            # a real withdrawal: under duress nothing is withdrawn and monitoring goes on.
            people.record_withdrawal_by_person(row.person_id, purpose="checkins", method=channel)
        audit.record(
            "checkin.received",
            object_type="checkin_enrolment",
            object_ref=str(row.pk),
            organisation_id=row.organisation_id,
            detail={"channel": channel, "kind": checkin_kind},
        )
    return checkin_kind


def _ip_strikes(ip: str, now: datetime, *, add: bool) -> int:
    """Wrong PINs from this address in its current window (shared by every web process,
    read in the check-in's transaction); with `add`, count one more. Returns the count
    before this attempt."""
    q = connection.ops.quote_name
    table = q(IpStrike._meta.db_table)
    key, start, count = q("key"), q("window_start"), q("wrong")
    at = IpStrike._meta.get_field("window_start")
    ip_key = _ip_key(ip)
    stale = at.get_db_prep_save(now - WRONG_WINDOW, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {count} FROM {table} WHERE {key} = %s AND {start} > %s",  # noqa: S608
            [ip_key, stale],
        )
        found = cursor.fetchone()
        if add:
            cursor.execute(
                f"INSERT INTO {table} ({key}, {start}, {count}) VALUES (%s, %s, 1) "  # noqa: S608
                f"ON CONFLICT ({key}) DO UPDATE SET "
                f"{count} = CASE WHEN {table}.{start} <= %s THEN 1 ELSE {table}.{count} + 1 END, "
                f"{start} = CASE WHEN {table}.{start} <= %s THEN excluded.{start} "
                f"ELSE {table}.{start} END",
                [ip_key, at.get_db_prep_save(now, connection), stale, stale],
            )
    return found[0] if found else 0


def prune_ip_strikes(now: datetime | None = None) -> int:
    """Forget addresses whose window has ended (the monitor calls this now and then)."""
    now = now or timezone.now()
    deleted, _ = IpStrike.objects.filter(window_start__lte=now - WRONG_WINDOW).delete()
    return deleted


_GATE = threading.Lock()
_GATE_FILE: dict[int, int] = {}  # pid → fd: a forked worker opens its own


@contextlib.contextmanager
def _sqlite_writer_gate():
    """On SQLite, let check-ins wait for the write lock in a queue instead of polling.

    SQLite has one writer at a time; a blocked `BEGIN IMMEDIATE` retries on a timer (1, 2,
    5 … 100 ms sleeps), so under 30 concurrent check-ins most of the time is spent asleep
    while the lock is free. Here writers queue on a thread lock and a file lock beside the
    database (flock wakes the next waiter when the holder leaves). Nothing changes on
    PostgreSQL, or inside an outer transaction, or for an in-memory database.
    """
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or connection.in_atomic_block or not name or "memory" in name:
        yield
        return
    with _GATE:
        pid = os.getpid()
        fd = _GATE_FILE.get(pid)
        if fd is None:
            fd = _GATE_FILE[pid] = os.open(f"{name}.checkin-lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


# The check-in hot path (every web and SMS check-in) in plain SQL: the ORM's query
# compilation cost more than the database work. Values still go through each field's
# get_db_prep_save, and rows come back through Enrolment.from_db with the fields' converters.
_SQL: dict[str, str] = {}


def _sql(name: str) -> str:
    key = f"{connection.vendor}:{name}"
    if key not in _SQL:
        q = connection.ops.quote_name
        opts = Enrolment._meta
        cols = ", ".join(q(column_of(f)) for f in opts.concrete_fields)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        table = q(opts.db_table)
        if name == "checkin":
            c = CheckIn._meta
            _SQL[key] = (
                f"INSERT INTO {q(c.db_table)} ({q('enrolment_id')}, {q('at')}, {q('kind')}, "  # noqa: S608
                f"{q('channel')}, {q('alert_pending')}, {q('requested')}, {q('window_start')}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)"
            )
        else:  # a lookup by "id" or "token_index"
            _SQL[key] = f"SELECT {cols} FROM {table} WHERE {q(name)} = %s LIMIT 1{lock}"  # noqa: S608
    return _SQL[key]


def _locked_row(column: str, value) -> Enrolment | None:
    """The enrolment, locked for this transaction (SQLite: BEGIN IMMEDIATE has the lock)."""
    opts = Enrolment._meta
    param = opts.pk.get_db_prep_value(value, connection) if column == "id" else value
    with connection.cursor() as cursor:
        cursor.execute(_sql(column), [param])
        found = cursor.fetchone()
    if found is None:
        return None
    values = list(found)
    # The same converters, in the same order, as the ORM's compiler applies.
    for i, converters in _converters():
        for converter in converters:
            values[i] = converter(
                values[i], opts.concrete_fields[i].get_col(opts.db_table), connection
            )
    return Enrolment.from_db(connection.alias, [f.attname for f in opts.concrete_fields], values)


_CONVERTERS: dict[str, list] = {}


def _converters() -> list:
    if connection.vendor not in _CONVERTERS:
        opts = Enrolment._meta
        found = []
        for i, field in enumerate(opts.concrete_fields):
            col = field.get_col(opts.db_table)
            chain = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if chain:
                found.append((i, chain))
        _CONVERTERS[connection.vendor] = found
    return _CONVERTERS[connection.vendor]


def _insert_checkin(
    enrolment_id, at, kind, channel, alert_pending, requested, window_start
) -> None:
    def f(name: str) -> Field:
        return concrete_field(CheckIn, name)

    with connection.cursor() as cursor:
        cursor.execute(
            _sql("checkin"),
            [
                Enrolment._meta.pk.get_db_prep_value(enrolment_id, connection),
                f("at").get_db_prep_save(at, connection),
                str(kind),
                channel,
                bool(alert_pending),
                requested,
                f("window_start").get_db_prep_save(window_start, connection),
            ],
        )


def _update_locked_row(row: Enrolment, changes: dict) -> None:
    """`UPDATE … SET … WHERE id = … AND version = …` (the version the monitor checks)."""
    q = connection.ops.quote_name
    opts = Enrolment._meta
    sets, params = [], []
    for name, value in changes.items():
        field = concrete_field(Enrolment, name)
        column = column_of(field)
        if field.is_relation:
            value = getattr(value, "pk", value)
            field = cast(ForeignKey, field).target_field if value is not None else field
        sets.append(f"{q(column)} = %s")
        params.append(None if value is None else field.get_db_prep_save(value, connection))
    sql = (
        f"UPDATE {q(opts.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {q('id')} = %s AND {q('version')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, opts.pk.get_db_prep_value(row.pk, connection), row.version])


def _checkin_changes(row: Enrolment, now: datetime) -> dict:
    """A valid check-in: the period is satisfied, any running ladder stops."""
    due = _next_due(row, now)
    if row.open_alert_id and row.phase == Phase.ESCALATING:
        alerts.stop_escalation([row.open_alert_id], now=now, by="checkin")
    next_action = due if row.status == EnrolmentStatus.ACTIVE else row.next_action_at
    return {
        "phase": Phase.WAITING,
        "next_due_at": due,
        "next_action_at": next_action,
        "missed_at": None,
        "escalation_step": 0,
        "reminder_round": 0,
        "open_alert": None,
        "last_checkin_at": now,
        "wrong_pins": 0,
        "wrong_window_start": None,
    }
