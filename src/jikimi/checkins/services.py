"""Check-ins: enrolment, PIN set-up, the person's check-in, staff actions on alerts.

Every staff function takes the acting user and checks access here; the person's functions
authenticate by their token and PIN. The escalation ladder itself is in `monitor.py`.

The person's side is built so that nobody watching the person — a coercer holding the
phone — can tell a normal check-in from a duress PIN or a wrong PIN: the same response,
the same kind and number of database writes, and the duress alert raised by the monitor
from a row written in the same transaction as the check-in (so it cannot be lost and does
not slow the response).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role, User
from jikimi.audit import services as audit
from jikimi.core.crypto import blind_index
from jikimi.people import services as people
from jikimi.people.models import Person
from jikimi.people.services import InvalidInput, NotFound

from . import pins, schedule
from .models import (
    DEFAULT_LADDER,
    PRIORITY,
    Alert,
    AlertState,
    CheckIn,
    CheckInKind,
    Enrolment,
    EnrolmentStatus,
    EscalationPolicy,
    IpStrike,
    Phase,
    Target,
)

STAFF_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CASEWORKER)
CHANNELS = ("web", "sms", "email")
SETUP_LINK_DAYS = 7
# Wrong PINs: after WRONG_ALERT_AT in a window staff are alerted; after WRONG_LOCK_AT even
# the right PIN no longer counts until the window ends (the duress PIN always does).
WRONG_WINDOW = timedelta(minutes=15)
WRONG_ALERT_AT = 3
WRONG_LOCK_AT = 5
IP_WRONG_LIMIT = 30
MAX_PAUSE_DAYS = 60


def _token_index(token: str) -> str:
    return blind_index("checkin-token", token)


def _setup_index(token: str) -> str:
    return blind_index("checkin-setup", token)


def _require_staff(user: User) -> None:
    accounts.require_role(user, *STAFF_ROLES)


# --- Policies -------------------------------------------------------------------------------


def default_policy(organisation) -> EscalationPolicy:
    policy, _ = EscalationPolicy.objects.get_or_create(
        organisation=organisation,
        name="standard",
        defaults={"steps": DEFAULT_LADDER, "repeat_minutes": 60},
    )
    return policy


def validate_steps(steps: list) -> list[dict]:
    if not isinstance(steps, list) or not steps:
        raise InvalidInput({"steps": "at least one step is needed"})
    clean, last = [], -1
    for i, step in enumerate(steps):
        try:
            after = int(step["after_minutes"])
            target = Target(step["to"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(
                {
                    "steps": f"step {i + 1}: needs after_minutes and a known "
                    f"'to' ({', '.join(Target.values)})"
                }
            )
        if after < last or after < 0:
            raise InvalidInput({"steps": f"step {i + 1}: steps must be in time order"})
        last = after
        clean.append({"after_minutes": after, "to": target.value})
    return clean


def create_policy(
    user: User,
    *,
    name: str,
    steps: list,
    repeat_minutes: int = 60,
    remind_person_at_due: bool = True,
) -> EscalationPolicy:
    """Escalation policies are organisation templates: supervisors and admins only."""
    accounts.require_role(user, Role.ADMIN, Role.SUPERVISOR)
    name, clean, repeat = _policy_fields(name, steps, repeat_minutes)
    if EscalationPolicy.objects.filter(organisation_id=user.organisation_id, name=name).exists():
        raise InvalidInput({"name": "another policy has this name"})
    policy = EscalationPolicy.objects.create(
        organisation=user.organisation,
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


class PasswordRequired(accounts.AccessDenied):
    """A sensitive action (changing an escalation policy) needs the password again."""


def confirm_password(user: User, password: str) -> None:
    """The API's re-authentication (DESIGN §3): the password in the request body, checked
    by accounts under its lock-out (a locked account is refused; a wrong password counts).
    Pages use the session's recent re-authentication instead."""
    if not user.is_authenticated:
        raise PasswordRequired("the password is required")
    try:
        accounts.check_password_for(user, password)
    except accounts.LoginFailed as exc:
        if exc.reason == "locked":
            raise PasswordRequired("the account is locked") from None
        raise PasswordRequired("this action needs your password (field 'password')") from None


def _policy_fields(name: str, steps: list, repeat_minutes) -> tuple[str, list[dict], int]:
    if not name.strip():
        raise InvalidInput({"name": "a name is required"})
    try:
        repeat = int(repeat_minutes)
    except (TypeError, ValueError):
        raise InvalidInput({"repeat_minutes": "a number of minutes"}) from None
    if repeat < 5:
        raise InvalidInput({"repeat_minutes": "at least 5 minutes"})
    return name.strip()[:100], validate_steps(steps), repeat


def get_policy(user: User, policy_id) -> EscalationPolicy:
    _require_staff(user)
    try:
        return EscalationPolicy.objects.get(pk=int(policy_id), organisation_id=user.organisation_id)
    except (EscalationPolicy.DoesNotExist, ValueError, TypeError):
        raise NotFound(str(policy_id)) from None


def update_policy(
    user: User,
    policy: EscalationPolicy,
    *,
    name: str,
    steps: list,
    repeat_minutes: int = 60,
    remind_person_at_due: bool = True,
) -> EscalationPolicy:
    """Change a policy template; every enrolment using it follows the new ladder from the
    monitor's next step. Supervisors and admins only; the caller has re-authenticated."""
    accounts.require_role(user, Role.ADMIN, Role.SUPERVISOR)
    policy = get_policy(user, policy.pk)
    name, clean, repeat = _policy_fields(name, steps, repeat_minutes)
    if (
        EscalationPolicy.objects.filter(organisation_id=user.organisation_id, name=name)
        .exclude(pk=policy.pk)
        .exists()
    ):
        raise InvalidInput({"name": "another policy has this name"})
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


def change_enrolment_policy(user: User, enrolment: Enrolment, policy: EscalationPolicy) -> None:
    """Move an enrolment to another of the organisation's policies (re-authenticated)."""
    enrolment = get_enrolment(user, enrolment.pk)
    policy = get_policy(user, policy.pk)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise InvalidInput({"status": "the enrolment is withdrawn"})
    _update(enrolment, policy_id=policy.pk)
    audit.record(
        "checkin_enrolment.policy",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk), "policy": policy.pk},
    )


def policies_for(user: User) -> QuerySet[EscalationPolicy]:
    _require_staff(user)
    default_policy(user.organisation)
    return EscalationPolicy.objects.filter(organisation_id=user.organisation_id)


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
    errors: dict[str, str] = {}
    if not people.has_consent(person, "checkins"):
        errors["consent"] = "the person has not consented to check-ins"
    if bool(interval_hours) == bool(weekly_slots):
        errors["schedule"] = "give either interval_hours or weekly_slots"
    elif interval_hours is not None and not 1 <= int(interval_hours) <= 24 * 31:
        errors["interval_hours"] = "between 1 and 744 hours"
    elif weekly_slots:
        try:
            schedule.parse_slots(weekly_slots)
        except (ValueError, TypeError):
            errors["weekly_slots"] = 'a list of [weekday 0–6, "HH:MM"]'
    if not schedule.valid_timezone(tz):
        errors["timezone"] = "unknown time zone"
    if not 0 <= int(grace_minutes) <= 7 * 24 * 60:
        errors["grace_minutes"] = "between 0 and 10080"
    if not channels or set(channels) - set(CHANNELS):
        errors["channels"] = f"a non-empty subset of {', '.join(CHANNELS)}"
    if "sms" in channels and len(people.normalise_phone(phone)) < 6:
        errors["phone"] = "SMS needs the person's phone number"
    if "email" in channels and "@" not in email:
        errors["email"] = "e-mail needs the person's address"
    if policy is None:
        policy = default_policy(user.organisation)
    elif policy.organisation_id != user.organisation_id:
        errors["policy"] = "no such policy"
    if Enrolment.objects.filter(person=person).exclude(status=EnrolmentStatus.WITHDRAWN).exists():
        errors["person"] = "the person is already enrolled"
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
       enrolment row. Duress and repeated wrong PINs set `next_action_at` to now, so the
       monitor raises the alert within a second from what this transaction committed.
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
            changes.update(
                wrong_pins=wrong_so_far + 1,
                wrong_window_start=row.wrong_window_start if in_window else now,
            )
            if wrong_so_far + 1 == WRONG_ALERT_AT and row.status == EnrolmentStatus.ACTIVE:
                changes["next_action_at"] = now
        _keep_pending_work(row, changes, now)
        checkin_kind = {
            ("ok", PersonAction.PAUSE): CheckInKind.PAUSE,
            ("ok", PersonAction.WITHDRAW): CheckInKind.WITHDRAW,
        }.get((kind, action), kind if kind != "ok" else CheckInKind.OK)
        _insert_checkin(row.pk, now, checkin_kind, channel, alert_pending, requested)
        _update_locked_row(row, changes)
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
        cols = ", ".join(q(f.column) for f in opts.concrete_fields)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        table = q(opts.db_table)
        if name == "checkin":
            c = CheckIn._meta
            _SQL[key] = (
                f"INSERT INTO {q(c.db_table)} ({q('enrolment_id')}, {q('at')}, {q('kind')}, "  # noqa: S608
                f"{q('channel')}, {q('alert_pending')}, {q('requested')}) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
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


def _insert_checkin(enrolment_id, at, kind, channel, alert_pending, requested) -> None:
    f = CheckIn._meta.get_field
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
            ],
        )


def _update_locked_row(row: Enrolment, changes: dict) -> None:
    """`UPDATE … SET … WHERE id = … AND version = …` (the version the monitor checks)."""
    q = connection.ops.quote_name
    opts = Enrolment._meta
    sets, params = [], []
    for name, value in changes.items():
        field = opts.get_field(name)
        if field.is_relation:
            value = getattr(value, "pk", value)
            field = field.target_field if value is not None else field
            column = opts.get_field(name).column
        else:
            column = field.column
        sets.append(f"{q(column)} = %s")
        params.append(None if value is None else field.get_db_prep_save(value, connection))
    sql = (
        f"UPDATE {q(opts.db_table)} SET {', '.join(sets)} "  # noqa: S608
        f"WHERE {q('id')} = %s AND {q('version')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, opts.pk.get_db_prep_value(row.pk, connection), row.version])


def _keep_pending_work(row: Enrolment, changes: dict, now: datetime) -> None:
    """Never push back a deadline that has already come: the monitor may still owe an
    alert for it (a duress PIN just before a normal check-in, say). It recomputes the
    deadline itself when it has done its work."""
    if row.next_action_at is not None and row.next_action_at <= now:
        changes["next_action_at"] = row.next_action_at


def _checkin_changes(row: Enrolment, now: datetime) -> dict:
    """A valid check-in: the period is satisfied, any running ladder stops."""
    due = _next_due(row, now)
    if row.open_alert_id and row.phase == Phase.ESCALATING:
        Alert.objects.filter(pk=row.open_alert_id, escalation_stopped_at__isnull=True).update(
            escalation_stopped_at=now, stopped_by="checkin"
        )
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


# --- Staff: enrolments, pause, withdrawal ---------------------------------------------------


def visible_enrolments(user: User) -> QuerySet[Enrolment]:
    _require_staff(user)
    return Enrolment.objects.filter(organisation_id=user.organisation_id)


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
        raise InvalidInput({"reason": "say why"})
    if until <= now or until > now + timedelta(days=MAX_PAUSE_DAYS):
        raise InvalidInput({"until": f"within the next {MAX_PAUSE_DAYS} days"})
    if enrolment.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
        raise InvalidInput({"status": "only an active enrolment can be paused"})
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
        raise InvalidInput({"status": "not paused"})
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
        raise InvalidInput({"reason": "say why"})
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
                Alert.objects.filter(
                    pk=row.open_alert_id, escalation_stopped_at__isnull=True
                ).update(escalation_stopped_at=timezone.now(), stopped_by="withdrawn")
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


# --- Staff: alerts --------------------------------------------------------------------------


def visible_alerts(user: User) -> QuerySet[Alert]:
    _require_staff(user)
    return Alert.objects.filter(organisation_id=user.organisation_id)


def alert_board(user: User, *, include_closed: bool = False) -> list[Alert]:
    """Open and acknowledged alerts: duress first, then the oldest first."""
    qs = visible_alerts(user).select_related("enrolment__person")
    if not include_closed:
        qs = qs.exclude(state=AlertState.CLOSED)
    alerts = list(qs.order_by("priority", "created_at")[:500])
    audit.record(
        "checkin_alert.board",
        actor=user,
        object_type="checkin_alert",
        detail={"count": len(alerts)},
    )
    return alerts


def get_alert(user: User, alert_id) -> Alert:
    try:
        return visible_alerts(user).select_related("enrolment__person").get(pk=int(alert_id))
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise NotFound(str(alert_id)) from None


def acknowledge(user: User, alert: Alert, now: datetime | None = None) -> Alert:
    """Someone has it: the ladder stops. The alert stays on the board until closed."""
    alert = get_alert(user, alert.pk)
    now = now or timezone.now()
    if Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
        state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=user
    ):
        _stop_ladder(alert, now, "ack")
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
        raise InvalidInput({"reason": "closing an alert needs a reason"})
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
        _stop_ladder(alert, now, "close")
        audit.record(
            "checkin_alert.close",
            actor=user,
            object_type="checkin_alert",
            object_ref=str(alert.pk),
            detail={"kind": alert.kind},
        )
    alert.refresh_from_db()
    return alert


def _stop_ladder(alert: Alert, now: datetime, by: str) -> None:
    """If this alert is the enrolment's running ladder, stop it and wait for the next period."""
    Alert.objects.filter(pk=alert.pk, escalation_stopped_at__isnull=True).update(
        escalation_stopped_at=now, stopped_by=by
    )
    if alert.enrolment_id is None:
        return
    with transaction.atomic():
        row = (
            Enrolment.objects.select_for_update()
            .filter(pk=alert.enrolment_id, open_alert_id=alert.pk)
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


def complete_task(user: User, task_id, now: datetime | None = None) -> None:
    from .models import Task

    now = now or timezone.now()
    task = Task.objects.filter(pk=task_id, alert__organisation_id=user.organisation_id).first()
    _require_staff(user)
    if task is None:
        raise NotFound(str(task_id))
    Task.objects.filter(pk=task.pk, done_at__isnull=True).update(done_at=now, done_by=user)
    audit.record(
        "checkin_task.done",
        actor=user,
        object_type="checkin_alert",
        object_ref=str(task.alert_id),
        detail={"task": task.kind},
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
        for a in enrolment.alerts.order_by("-created_at")[:limit]
    ]
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]


def base_url() -> str:
    return settings.JIKIMI_BASE_URL.rstrip("/")


def raise_staff_alert(
    *,
    organisation_id: int,
    kind: str,
    key: str,
    detail: dict,
    priority: int | None = None,
    label: str = "",
) -> Alert:
    """Put an alert on an organisation's board and tell its staff, once per `key`.

    Other apps call this (e.g. linkage, when a missing person reappears in a record). A repeat
    with the same key — a retry, or a second process — returns the first alert and sends
    nothing new. `detail` must hold no personal data (public codes, ids, scores).
    """
    from jikimi.notify import services as outbox

    from . import notifications

    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives a repeat
            alert = Alert.objects.create(
                organisation_id=organisation_id,
                kind=kind,
                priority=PRIORITY[kind] if priority is None else priority,
                key=key,
                detail=detail,
                created_at=timezone.now(),
            )
            audit.record(
                "checkin_alert.raise",
                object_type="checkin_alert",
                object_ref=str(alert.pk),
                organisation_id=organisation_id,
                detail={"kind": kind},
            )
            label = label or str(alert.get_kind_display())
            outbox.enqueue(notifications.for_staff_alert(alert, label))
    except IntegrityError:
        return Alert.objects.get(key=key)
    return alert
