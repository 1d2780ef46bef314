"""The tamper-evident audit log (DESIGN §3).

Appends take a lock on the chain head (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises
writers anyway), so concurrent writers never fork the chain. `verify_chain` recomputes every
hash and names the first row that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Field
from django.utils import timezone
from django.utils.translation import gettext

from jikimi.core import codes
from jikimi.core.sql import insert_prepared

from .models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _canonical(
    ev_id: int,
    at: datetime,
    actor_id,
    organisation_id,
    action: str,
    object_type: str,
    object_ref: str,
    detail: dict,
    prev_hash: str,
) -> bytes:
    body = {
        "id": ev_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_id,
        "org": organisation_id,
        "action": action,
        "type": object_type,
        "ref": object_ref,
        "detail": detail,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode()


def _concrete_field(name: str) -> Field:
    field = AuditEvent._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def record(
    action: str,
    *,
    actor=None,
    object_type: str = "",
    object_ref: str = "",
    detail: dict | None = None,
    organisation_id: int | None = None,
) -> AuditEvent:
    """Append one event. `detail` must hold no personal data (codes, ids, counts, fields).

    `object_ref` is stored only when it is a public code, an id or a UUID: a reference that
    came from outside (a name typed where a code belongs, in a URL or a search) is stored as
    "malformed", never echoed into the log.
    """
    detail = detail or {}
    object_ref = safe_ref(object_ref)
    actor_id = getattr(actor, "pk", None)
    if organisation_id is None and actor is not None:
        organisation_id = getattr(actor, "organisation_id", None)
    # Inside the caller's transaction no savepoint is needed: if this append fails, the act it
    # records must fail with it. The head row lock serialises appenders either way.
    connection = transaction.get_connection()
    in_outer = connection.in_atomic_block
    with transaction.atomic(savepoint=not in_outer), connection.cursor() as cursor:
        sql = _statements(connection)
        # Plain SQL: every check-in and every read of a person appends here, and the ORM's
        # query compilation cost more than the three statements themselves.
        cursor.execute(sql["head"])
        found = cursor.fetchone()
        if found is None:  # the very first event of an install
            AuditHead.objects.get_or_create(id=1)
            cursor.execute(sql["head"])
            found = cursor.fetchone()
        last_id, last_hash = found
        ev_id = last_id + 1
        at = timezone.now()  # both databases keep microseconds, so the hash survives storage
        digest = hashlib.sha256(
            last_hash.encode()
            + _canonical(
                ev_id,
                at,
                actor_id,
                organisation_id,
                action,
                object_type,
                object_ref,
                detail,
                last_hash,
            )
        ).hexdigest()
        row = [
            ev_id,
            _concrete_field("at").get_db_prep_save(at, connection),
            actor_id,
            organisation_id,
            action,
            object_type,
            object_ref,
            _concrete_field("detail").get_db_prep_save(detail, connection),
            last_hash,
            digest,
        ]
        if "append" in sql:  # PostgreSQL: one round trip fewer while holding the head lock
            cursor.execute(sql["append"], [*row, ev_id, digest])
        else:
            cursor.execute(sql["insert"], row)
            cursor.execute(sql["advance"], [ev_id, digest])
    event = AuditEvent(
        id=ev_id,
        at=at,
        actor_id=actor_id,
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_ref=object_ref,
        detail=detail,
        prev_hash=last_hash,
        row_hash=digest,
    )
    event._state.adding, event._state.db = False, connection.alias
    return event


@dataclass(frozen=True)
class Entry:
    """One event of a bulk append (`record_many`): `record`'s arguments."""

    action: str
    object_type: str = ""
    object_ref: str = ""
    detail: dict | None = None
    organisation_id: int | None = None
    actor_id: int | None = None


def record_many(entries: Sequence[Entry], *, chunk: int = 2000) -> int:
    """Append `entries` in order as one chained run: the rows `record` would have written
    one by one (same content, same hashing, each row chained to the one before it), under
    one lock of the chain head, inserted a chunk at a time and the head moved once.

    For bulk writers (an import writes one event per person it creates): the caller holds
    the transaction, so the events go in with what they record or not at all. Returns the
    number of rows appended.
    """
    if not entries:
        return 0
    connection = transaction.get_connection()
    in_outer = connection.in_atomic_block
    at_field, detail_field = _concrete_field("at"), _concrete_field("detail")
    with transaction.atomic(savepoint=not in_outer), connection.cursor() as cursor:
        sql = _statements(connection)
        cursor.execute(sql["head"])
        found = cursor.fetchone()
        if found is None:
            AuditHead.objects.get_or_create(id=1)
            cursor.execute(sql["head"])
            found = cursor.fetchone()
        last_id, last_hash = found
        rows: list[list] = []
        for entry in entries:
            detail = entry.detail or {}
            object_ref = safe_ref(entry.object_ref)
            ev_id = last_id + 1
            at = timezone.now()
            digest = hashlib.sha256(
                last_hash.encode()
                + _canonical(
                    ev_id,
                    at,
                    entry.actor_id,
                    entry.organisation_id,
                    entry.action,
                    entry.object_type,
                    object_ref,
                    detail,
                    last_hash,
                )
            ).hexdigest()
            rows.append(
                [
                    ev_id,
                    at_field.get_db_prep_save(at, connection),
                    entry.actor_id,
                    entry.organisation_id,
                    entry.action,
                    entry.object_type,
                    object_ref,
                    detail_field.get_db_prep_save(detail, connection),
                    last_hash,
                    digest,
                ]
            )
            last_id, last_hash = ev_id, digest
            if len(rows) >= chunk:
                insert_prepared(AuditEvent, _COLUMNS, rows)
                rows = []
        # One statement a chunk on PostgreSQL (`unnest`; executemany sent a statement a
        # row: 28 s of a 100,000-row import), executemany on SQLite as before.
        insert_prepared(AuditEvent, _COLUMNS, rows)
        cursor.execute(sql["advance"], [last_id, last_hash])
    return len(entries)


_SQL: dict[str, dict[str, str]] = {}
_COLUMNS = (
    "id", "at", "actor_id", "organisation_id", "action", "object_type", "object_ref", "detail",
    "prev_hash", "row_hash",
)  # fmt: skip


def _statements(connection) -> dict[str, str]:
    """The three statements of an append, for this database (built once per vendor)."""
    if connection.vendor not in _SQL:
        q = connection.ops.quote_name
        head, event = q(AuditHead._meta.db_table), q(AuditEvent._meta.db_table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        columns = ", ".join(
            q(c)
            for c in (
                "id", "at", "actor_id", "organisation_id", "action", "object_type",
                "object_ref", "detail", "prev_hash", "row_hash",
            )
        )  # fmt: skip
        statements = {
            "head": f"SELECT {q('last_id')}, {q('last_hash')} FROM {head} WHERE {q('id')} = 1{lock}",  # noqa: E501, S608
            "insert": f"INSERT INTO {event} ({columns}) VALUES ({', '.join(['%s'] * 10)})",  # noqa: S608
            "advance": f"UPDATE {head} SET {q('last_id')} = %s, {q('last_hash')} = %s WHERE {q('id')} = 1",  # noqa: E501, S608
        }
        if connection.vendor == "postgresql":  # a data-modifying CTE: both in one statement
            statements["append"] = (
                f"WITH {q('ev')} AS ({statements['insert']}) {statements['advance']}"
            )
        _SQL[connection.vendor] = statements
    return _SQL[connection.vendor]


@dataclass(frozen=True)
class ChainProblem:
    row_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit row {self.row_id}: {self.reason}"


def verify_chain(batch: int = 5000) -> ChainProblem | None:
    """Return the first problem in the chain, or None when it is intact.

    1. Rows must carry ids 1, 2, 3, … with no gap (a deleted row leaves one).
    2. Each row's prev_hash must equal the previous row's hash (reordering breaks it).
    3. Each row's hash must equal the hash recomputed from its content (editing breaks it).
    4. The head must name the last row and its hash (deleting the newest rows breaks it).

    It runs beside a live server, whose appends go on meanwhile. An append writes its row
    and moves the head in one transaction, so the rows up to a head once read are all there:
    the rows are checked up to the head read first, then up to the head as it has moved
    since, until no row lies beyond it. A row beyond a head read after that row was seen was
    written without moving the head: that is tampering, not a race.
    """
    expected_id, prev = 1, GENESIS
    head = AuditHead.objects.filter(id=1).first()
    while True:
        upto = head.last_id if head is not None else None
        for ev in _iter_events(batch, start=expected_id - 1, upto=upto):
            if ev.id != expected_id:
                return ChainProblem(
                    expected_id if ev.id > expected_id else ev.id,
                    "missing (deleted) or out of order",
                )
            if ev.prev_hash != prev:
                return ChainProblem(
                    ev.id,
                    "does not follow the row before it (reordered or the previous row was altered)",
                )
            digest = hashlib.sha256(
                prev.encode()
                + _canonical(
                    ev.id,
                    ev.at,
                    ev.actor_id,
                    ev.organisation_id,
                    ev.action,
                    ev.object_type,
                    ev.object_ref,
                    ev.detail,
                    ev.prev_hash,
                )
            ).hexdigest()
            if digest != ev.row_hash:
                return ChainProblem(ev.id, "its content was altered")
            prev, expected_id = ev.row_hash, expected_id + 1
        if head is None:
            return None
        last_id = expected_id - 1
        if head.last_id != last_id or head.last_hash != prev:
            return ChainProblem(
                last_id + 1,
                f"missing: the chain head names row {head.last_id} "
                "but the log ends before it (rows deleted at the end)",
            )
        if not AuditEvent.objects.filter(id__gt=last_id).exists():
            return None
        moved = AuditHead.objects.filter(id=1).first()
        if moved is None or moved.last_id == head.last_id:
            return ChainProblem(last_id + 1, "written after the chain head without moving it")
        head = moved


def _iter_events(batch: int, *, start: int = 0, upto: int | None = None) -> Iterator[AuditEvent]:
    """Rows with ids above `start` (and at most `upto`), in id order, `batch` at a time."""
    last = start
    while True:
        rows = AuditEvent.objects.filter(id__gt=last)
        if upto is not None:
            rows = rows.filter(id__lte=upto)
        page = list(rows.order_by("id")[:batch])
        if not page:
            return
        yield from page
        last = page[-1].id


MALFORMED = "malformed"


def safe_ref(value: str) -> str:
    """`value` if it is a code or an id (see record), else "malformed"; "" stays ""."""
    if not value:
        return ""
    return value if codes.is_code_or_id(value) else MALFORMED


def _visible_events(user):
    """Every event `user`'s organisation may read (see `events_seen_by`)."""
    return AuditEvent.objects.filter(organisation_id=user.organisation_id)


def events_seen_by(user, *, object_ref: str = "", action_prefix: str = "", limit: int = 200):
    """The newest events of `user`'s own organisation, optionally about one object.

    An organisation sees only the events its own staff and its own system work wrote: the
    events of another organisation — about a person shared with both, too — are not its to
    read (they name that organisation's staff and what they did).
    """
    qs = _visible_events(user)
    if object_ref:
        qs = qs.filter(object_ref=object_ref)
    if action_prefix:
        qs = qs.filter(action__startswith=action_prefix)
    return qs.order_by("-id")[:limit]


# --- The audit page: filters and pages ------------------------------------------------------

PER_PAGE = 50
# Counting every matching row on every page is a full scan of a table that grows with each
# check-in and each read of a person. The page counts at most this many (a LIMITed subquery)
# and says "more than" beyond it; the filters narrow a search long before that.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class EventFilter:
    """What the auditor narrowed the log to; an empty value filters nothing."""

    actor: str = ""  # "" anyone, SYSTEM_ACTOR, or a user id (as text)
    action: str = ""  # an action code, or a group prefix ending in "."
    object_ref: str = ""  # a public code, an id or a UUID
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    number: int
    pages: int  # the last page that was counted
    more: bool  # more rows match than were counted: pages is a lower bound
    has_previous: bool
    has_next: bool
    total: int  # matching rows counted (at most COUNT_CAP)


def event_page(user, flt: EventFilter, page: int = 1, per_page: int = PER_PAGE) -> EventPage:
    """One page of the events `user`'s organisation may read, newest first.

    Auditors and administrators only (AccessDenied otherwise): the page names staff and what
    they did. A page number beyond the last is the last page; below one, the first.
    """
    from jikimi.accounts.services import can_read_audit
    from jikimi.core.errors import AccessDenied

    if not can_read_audit(user):
        raise AccessDenied(gettext("The audit log is for auditors and administrators."))
    qs = _visible_events(user)
    if flt.actor == SYSTEM_ACTOR:
        qs = qs.filter(actor_id__isnull=True)
    elif flt.actor:
        qs = qs.filter(actor_id=int(flt.actor))
    if flt.action.endswith("."):
        qs = qs.filter(action__startswith=flt.action)
    elif flt.action:
        qs = qs.filter(action=flt.action)
    if flt.object_ref:
        qs = qs.filter(object_ref=flt.object_ref)
    if flt.since is not None:
        qs = qs.filter(at__gte=flt.since)
    if flt.until is not None:
        qs = qs.filter(at__lt=flt.until)
    total = qs.order_by()[: COUNT_CAP + 1].count()
    more = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    pages = max(1, -(-total // per_page))
    number = max(1, page)
    if not more:
        number = min(number, pages)
    start = (number - 1) * per_page
    rows = list(qs.order_by("-id")[start : start + per_page + 1])
    has_next = len(rows) > per_page
    return EventPage(
        events=rows[:per_page],
        number=number,
        pages=max(pages, number),
        more=more,
        has_previous=number > 1,
        has_next=has_next,
        total=total,
    )
