"""People, identities, consent and trusted contacts.

Every function takes the acting user, checks access here (so pages, API and CLI cannot
differ) and writes the audit log. Another organisation's person is `NotFound` unless shared.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Organisation, User
from jikimi.audit import services as audit
from jikimi.core.codes import give_unique_codes, uuid7
from jikimi.core.crypto import BlindIndexer, blind_index
from jikimi.core.errors import InvalidInput, NotFound, ReadOnlyAccess
from jikimi.core.sql import (
    Rows,
    concrete_field,
    granted_ids,
    insert_prepared,
    own_or_granted,
    refresh_statistics,
)
from jikimi.lib import records
from jikimi.lib.fuzzy_names import one_typo_apart
from jikimi.lib.korean import search_keys
from jikimi.lib.records import normalise_phone

from . import digests
from .models import (
    Consent,
    Identity,
    IdentityIndex,
    IdentityKind,
    Person,
    PersonStatus,
    SharingGrant,
    TrustedContact,
)

CODE_RE = re.compile(r"^P-[2-9A-Z]{4}-[2-9A-Z]{4}$")


# Re-exported: the apps above have always imported them from here.
__all__ = ["InvalidInput", "NotFound", "ReadOnlyAccess"]


# --- Visibility ---------------------------------------------------------------------------


def shared_person_ids(organisation_id: int) -> list[uuid.UUID]:
    """Ids of the people other organisations shared with this one (grants not revoked)."""
    return granted_ids(SharingGrant, organisation_id, "person_id")


def people_seen_by(organisation_id: int, *, person_field: str = "id") -> Q:
    """The one definition of whom an organisation can see: its own people and those shared
    with it by a live grant (`core.sql.own_or_granted`). A filter for any table that
    carries `organisation_id` and the person (`person_field`: "id" on Person, "person_id"
    on IdentityIndex)."""
    return own_or_granted(organisation_id, person_field, shared_person_ids(organisation_id))


def visible_people(user: User) -> QuerySet[Person]:
    """People of the user's organisation plus those shared with it by a live grant."""
    if not user.is_authenticated or user.organisation_id is None:
        return Person.objects.none()
    return Person.objects.filter(people_seen_by(user.organisation_id))


# The purposes of get_person that change the person: refused through a sharing grant.
# (Other apps' purposes, e.g. "linkage" or "checkin_enrol", read here; their own writes check
# ownership in their services.)
WRITE_PURPOSES = frozenset({"edit", "share"})


def get_person(user: User, code: str, *, purpose: str = "view") -> Person:
    """The person of this code the user can see, for `purpose`; NotFound when there is none.

    A write purpose ("edit", "share"): a person seen only through a sharing grant is
    read-only for the grantee, so that is ReadOnlyAccess (403), after an audit row, whatever
    door (page, API, CLI) asked. The write functions below check the same (`_require_editor`)
    for callers that got the person another way.
    """
    person = visible_people(user).filter(code=code).select_related("organisation").first()
    if person is None:
        audit.record("person.not_found", actor=user, object_type="person", object_ref=code[:64])
        raise NotFound(code)
    shared = person.organisation_id != user.organisation_id
    if shared and purpose in WRITE_PURPOSES:
        require_owner(user, person, purpose=purpose)
    audit.record(
        "person.read",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"purpose": purpose, **({"via_grant": True} if shared else {})},
    )
    return person


def require_owner(user: User, person: Person, *, purpose: str = "edit") -> None:
    """The one check that a write to a person is the owner's: a sharing grant lets the
    grantee read, never write. Refused with ReadOnlyAccess (403: the grantee may know the
    person exists) and an audit row."""
    if person.organisation_id == user.organisation_id:
        return
    audit.record(
        "person.write_refused",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"purpose": purpose, "via_grant": True},
    )
    raise ReadOnlyAccess(_("A person shared with your organisation can be read, not changed."))


# --- Normalisation for the blind index ----------------------------------------------------


# The one definition of the digests is `digests` (no Django there, so that an import can
# compute them in a second process); these names are kept for the callers.
TYPO_INDEX_KIND = digests.TYPO_INDEX_KIND


def _typo_digests(value: str, index: Callable[[str, str], str] = blind_index) -> set[str]:
    return digests.typo_digests(value, index)


def _typo_query_digests(value: str) -> set[str]:
    """What a search looks a name up under in the typo index: thousands of digests, so
    through one `BlindIndexer` (the key schedule once)."""
    return digests.typo_query_digests(value, BlindIndexer())


def _index_digests(
    kind: str, value: str, index: Callable[[str, str], str] = blind_index
) -> set[str]:
    """The blind-index digests of an identity's value; `index` is `blind_index` or a bulk
    writer's `BlindIndexer` (the same digests)."""
    return digests.identity_digests(kind, value, index)


guess_script = digests.guess_script


# --- Writes -------------------------------------------------------------------------------

PERSON_FIELDS = ("birth_year", "sex", "province", "defection_year", "status", "notes")


def require_editor(user: User, person: Person | None = None) -> None:
    """Every write to a person passes here: the role, and (for an existing person) that the
    user's organisation owns them — a sharing grant lets the grantee read, never write."""
    if not accounts.can_edit_people(user):
        raise accounts.AccessDenied(
            gettext("Only case workers, supervisors and administrators edit people.")
        )
    if person is not None:
        require_owner(user, person)


def _validate_person_fields(data: dict) -> dict:
    errors: dict[str, str] = {}
    this_year = timezone.now().year
    for field, low in (("birth_year", 1900), ("defection_year", 1950)):
        if field not in data:  # a partial update leaves absent fields alone
            continue
        value = data[field]
        if value in (None, ""):
            data[field] = None
            continue
        try:
            data[field] = int(value)
        except (TypeError, ValueError):
            errors[field] = "must be a year such as 1988"
            continue
        if not low <= data[field] <= this_year:
            errors[field] = f"must be between {low} and {this_year}"
    if "status" in data and data["status"] not in PersonStatus.values:
        errors["status"] = f"must be one of {', '.join(PersonStatus.values)}"
    if data.get("sex") not in (None, "", "M", "F"):
        errors["sex"] = "must be M, F or empty"
    if errors:
        raise InvalidInput(errors)
    return data


def create_person(
    user: User,
    *,
    name: str,
    name_kind: str = "sk_legal",
    organisation: Organisation | None = None,
    **fields,
) -> Person:
    """Create a person with a primary name identity."""
    require_editor(user)
    if not name or not name.strip():
        raise InvalidInput({"name": "a name is required"})
    if len(name) > 200:
        raise InvalidInput({"name": "at most 200 characters"})
    data = _validate_person_fields({k: v for k, v in fields.items() if k in PERSON_FIELDS})
    with transaction.atomic():
        person = Person(
            organisation=organisation or user.organisation,
            created_by=user,
            **{k: v for k, v in data.items() if v is not None},
        )
        person.display_name = name.strip()
        person.save()
        _add_identity(
            person, user, IdentityKind.NAME, name.strip(), name_kind=name_kind, is_primary=True
        )
        audit.record("person.create", actor=user, object_type="person", object_ref=person.code)
    return person


def update_person(user: User, person: Person, **fields) -> Person:
    require_editor(user, person)
    data = _validate_person_fields({k: v for k, v in fields.items() if k in PERSON_FIELDS})
    changed = sorted(k for k, v in data.items() if getattr(person, k) != v)
    for key in changed:
        setattr(person, key, data[key])
    if changed:
        person.save()
    audit.record(
        "person.update",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"fields": changed},
    )
    return person


def _add_identity(
    person: Person,
    user: User | None,
    kind: str,
    value: str,
    *,
    name_kind: str = "",
    script: str = "",
    is_primary: bool = False,
) -> Identity:
    identity = Identity(
        person=person,
        kind=kind,
        name_kind=name_kind if kind == "name" else "",
        script=script or (guess_script(value) if kind == "name" else ""),
        is_primary=is_primary,
        created_by=user,
    )
    identity.value = value
    identity.save()
    IdentityIndex.objects.bulk_create(
        IdentityIndex(
            identity=identity, person=person, organisation_id=person.organisation_id, digest=d
        )
        for d in _index_digests(kind, value)
    )
    return identity


def record_identities(row: dict) -> list[tuple[str, str, dict[str, Any]]]:
    """The identities a validated person-record row gives its person, as (kind, value, extra
    fields): the name (primary unless there is a Hangul one), the Hangul name, the birth date
    and the phone. One list for the importer's one-at-a-time path and the bulk one."""
    from .models import NameKind

    identities: list[tuple[str, str, dict[str, Any]]] = [
        (
            IdentityKind.NAME,
            row["name"],
            {"name_kind": NameKind.SOUTH_LEGAL, "is_primary": not row["name_hangul"]},
        )
    ]
    if row["name_hangul"] and row["name_hangul"] != row["name"]:
        identities.append(
            (
                IdentityKind.NAME,
                row["name_hangul"],
                {"name_kind": NameKind.SOUTH_LEGAL, "is_primary": True},
            )
        )
    if row["birth_date"]:
        identities.append((IdentityKind.BIRTH_DATE, row["birth_date"], {}))
    if row["phone"]:
        identities.append((IdentityKind.PHONE, row["phone"], {}))
    return identities


def identity_values(row: dict) -> list[tuple[str, str]]:
    """The (kind, value) of each identity `create_people_bulk` writes for a row, as plain
    strings (a child process is sent them: no model enum, which would import the models)."""
    return [(str(kind), str(value)) for kind, value, _extra in record_identities(row)]


def _usable_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


class IdentityIndexer:
    """For a bulk writer (one per import): each distinct identity value's sorted blind-index
    digests and script, computed once (`_index_digests` through `index`, a `BlindIndexer`,
    which in turn hashes each key many names share once). Bounded like the indexer.

    `expect` (a large import, on a machine with a second core) is told the values the
    writer will ask for, in the order it will ask, as soon as they are known (while the
    file is still being validated); once PREFETCH_MIN distinct values are expected, a child
    process (`digests.DigestWorker`) computes them ahead, BATCH values at a time and at most
    AHEAD batches before the writer, while this process validates and writes. `flush` hands
    over the last, partial batch. A value asked for is taken from there; the digests are the
    same either way. `close` stops the child.
    """

    MEMO_MAX = 1 << 17
    #: Values a batch for the child, batches it may compute ahead of the writer (memory:
    #: about 1 KB of digests a value), and the fewest distinct values for which a child
    #: pays for its start (a fresh interpreter, about 0.3 s).
    BATCH = 4000
    AHEAD = 16
    PREFETCH_MIN = 10_000

    def __init__(self, index: BlindIndexer | None = None) -> None:
        self.index = index or BlindIndexer()
        self._memo: dict[tuple[str, str], tuple[list[str], str]] = {}
        self._worker: digests.DigestWorker | None = None
        self._waiting: set[tuple[str, str]] = set()  # expected, not yet answered
        self._pending: list[tuple[str, str]] = []  # expected, not yet in a batch
        self._batches: list[list[tuple[str, str]]] = []  # cut, not yet taken, in order
        self._futures: list[Any] = []  # the child's answers to the first len() batches
        self._ready: dict[tuple[str, str], tuple[list[str], str]] = {}
        self.from_child = 0  # values answered by the child (for tests and benchmarks)

    def expect(self, values: Iterable[tuple[str, str]]) -> None:
        """The (kind, value) pairs (plain strings, `identity_values`) the writer will ask
        for next."""
        for value in values:
            if value not in self._waiting and value not in self._memo:
                self._waiting.add(value)
                self._pending.append(value)
        if self._worker is None:
            if len(self._waiting) < self.PREFETCH_MIN or _usable_cores() < 2:
                return
            from jikimi.core.keyring import get_keyring

            self._worker = digests.DigestWorker(get_keyring().index, self.index)
        self._cut(self.BATCH)

    def flush(self) -> None:
        """Every value expected goes to the child (or, with no child, is computed when
        asked for)."""
        if self._worker is None:
            self._waiting, self._pending = set(), []
        else:
            self._cut(1)

    def _cut(self, least: int) -> None:
        while len(self._pending) >= least:
            self._batches.append(self._pending[: self.BATCH])
            del self._pending[: self.BATCH]
        self._submit()

    def _submit(self) -> None:
        assert self._worker is not None
        while len(self._futures) < min(self.AHEAD, len(self._batches)):
            self._futures.append(self._worker.submit(self._batches[len(self._futures)]))

    def _take_batch(self) -> None:
        """The next batch's answers (waiting for the child if need be) into `_ready`."""
        assert self._worker is not None
        values, future = self._batches.pop(0), self._futures.pop(0)
        before = self._worker.answered
        self._ready.update(zip(values, self._worker.result(future, values), strict=True))
        self.from_child += self._worker.answered - before
        self._waiting.difference_update(values)
        self._submit()

    def __call__(self, kind: str, value: str) -> tuple[list[str], str]:
        # str(): an IdentityKind member hashes by its name, not as its value does.
        key = (str(kind), value)
        found = self._memo.get(key)
        if found is None:
            while key in self._waiting and self._batches:
                self._take_batch()
            found = self._ready.pop(key, None)
            if found is None:
                (found,) = digests.digest_values([key], self.index)
            if len(self._memo) >= self.MEMO_MAX:
                self._memo.clear()
            self._memo[key] = found
        return found

    def close(self) -> None:
        """Stop the child process, if one was started (what it had not done is computed
        here when asked for)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        self._batches, self._futures, self._waiting, self._pending = [], [], set(), []
        self._ready = {}


@dataclass(slots=True)
class NewPerson:
    """A person `create_people_bulk` wrote: its id and public code (no model instance)."""

    pk: uuid.UUID
    code: str


def create_people_bulk(
    rows: Sequence[dict],
    organisation: Organisation,
    *,
    via: str = "import",
    indexer: IdentityIndexer | None = None,
) -> list[NewPerson]:
    """People from validated person-record rows (`people.importer.validate`'s shape), in
    bulk: the same rows `people.importer.create_record_person` writes one person at a time
    (the person, its name, Hangul name, birth date and phone identities with their blind
    indexes, its source record, one `person.create` audit event each), in a few statements.

    For importers (an organisation's own act: no per-user checks). The caller validates and
    holds the transaction. Linkage hears of the new people through `signals.people_created`
    (a bulk insert sends no `post_save`) and links them as one batch after the commit.

    The rows are built as tuples (`core.sql.Rows`: no model instance per person or
    identity, the personal fields sealed with one AES-GCM object) and each distinct value's
    blind-index digests computed once; `indexer` (one per import) keeps them, and those of
    the keys many names share, across the caller's chunks. Returns each person's id and
    code.

    `prepare_people_bulk` and `PreparedPeople.write` are its two halves, for a caller that
    builds more before its first query.
    """
    prepared = prepare_people_bulk(rows, organisation, via=via, indexer=indexer)
    prepared.write()
    insert_index_rows(prepared.index_rows)
    return prepared.people


@dataclass(slots=True)
class PreparedPeople:
    """New people built but not written (`prepare_people_bulk`): `people` (their ids, and
    codes that `write` may still draw again if one is taken), `index_rows` (their
    blind-index rows, for `insert_index_rows`)."""

    people: list[NewPerson]
    index_rows: list[tuple]
    _write: Callable[[], None]

    def write(self) -> None:
        """Give each person a code no one holds, then write the people, their identities
        and source records and their `person.create` audit events (the caller's
        transaction); linkage hears of them."""
        self._write()


def prepare_people_bulk(
    rows: Sequence[dict],
    organisation: Organisation,
    *,
    via: str = "import",
    indexer: IdentityIndexer | None = None,
) -> PreparedPeople:
    """`create_people_bulk`'s first half: everything but the queries (no database use until
    `write`, so a caller may build on while a background write runs)."""
    from .models import SourceRecord
    from .signals import people_created

    indexer = indexer or IdentityIndexer()
    now = timezone.now()
    org = organisation.pk
    people = Rows(Person, PERSON_COLUMNS)
    identities = Rows(Identity, IDENTITY_COLUMNS)
    sources = Rows(SourceRecord, ("person", "organisation", "source", "record_id", "county",
                                  "imported_at"))  # fmt: skip
    indexes: list[tuple] = []
    native = transaction.get_connection().features.has_native_uuid_field

    # The index rows in the form `insert_index_rows` sends them: text on PostgreSQL (a
    # block of COPY text, each id turned into text once, not once a row), hex on SQLite
    # (its UUID column's form). The ids are the UUIDs drawn here.
    def index_form(value: uuid.UUID) -> str:
        return str(value) if native else value.hex

    index_org = str(org) if native else org
    new_code = concrete_field(Person, "code").get_default  # the model's own draw
    created: list[NewPerson] = []
    for row in rows:
        # Time-ordered ids (core.codes.uuid7), as for identities below: the indexes on person
        # ids (the person table's key, identities', acts' victims') grow at their end instead
        # of taking each new id at a random page (beside a million acts, issue #14).
        person = NewPerson(uuid7(), new_code())
        created.append(person)
        person_id = index_form(person.pk)
        for kind, value, extra in record_identities(row):
            keyed, script = indexer(kind, value)  # equal values share them
            # Time-ordered ids: the index rows' identity key grows at its end (core.codes).
            identity_id = uuid7()
            identities.add(
                identity_id, person.pk, kind,
                extra.get("name_kind", "") if kind == IdentityKind.NAME else "",
                script, value, extra.get("is_primary", False), now, None,
            )  # fmt: skip
            # Rows of (identity, person, organisation, digest) in database form: tens per
            # person (the fuzzy name keys), too many for anything but tuples.
            prepared = index_form(identity_id)
            indexes.extend(zip(repeat(prepared), repeat(person_id), repeat(index_org), keyed))
        sources.add(person.pk, org, row["source"], row["record_id"], row["county"][:64], now)
        people.add(
            person.pk, person.code, org, row.get("birth_year"), row["sex"],
            row["province"], row.get("defection_year"), PersonStatus.ACTIVE.value,
            row["notes"] or None, row["name_hangul"] or row["name"], now, now, None,
        )  # fmt: skip
    # Sealed and in database form here, in the caller's thread, on PostgreSQL: `write` may
    # run in an importer's background writer, which then only sends them (issue #14).
    for table in (people, identities, sources):
        table.prepare_ahead()

    def write() -> None:
        give_unique_codes(Person, created)
        people.set_column("code", (p.code for p in created))  # (any drawn again)
        people.insert()
        identities.insert()
        sources.insert()
        audit.record_many(
            [
                audit.Entry(
                    "person.create",
                    organisation_id=org,
                    object_type="person",
                    object_ref=person.code,
                    detail={"via": via},
                )
                for person in created
            ]
        )
        people_created.send(sender=Person, person_ids=[p.pk for p in created])

    return PreparedPeople(created, indexes, write)


def insert_index_rows(rows: list[tuple]) -> None:
    """Write blind-index rows `create_people_bulk` built ((identity, person, organisation,
    digest), in database form), in digest order: the digest index is then written page
    after page, not at random."""
    rows.sort(key=itemgetter(3))
    insert_prepared(
        IdentityIndex,
        ("identity", "person", "organisation_id", "digest"),
        rows,
        plain=True,  # UUIDs, an id and hex digests
    )


#: The columns of a new person and a new identity, in the order `create_people_bulk`
#: gives them (`core.sql.Rows` checks that they are every column of the model).
PERSON_COLUMNS = (
    "id", "code", "organisation", "birth_year", "sex", "province", "defection_year", "status",
    "notes", "display_name", "created_at", "updated_at", "created_by",
)  # fmt: skip
IDENTITY_COLUMNS = (
    "id", "person", "kind", "name_kind", "script", "value", "is_primary", "created_at",
    "created_by",
)  # fmt: skip


def add_identity(
    user: User,
    person: Person,
    *,
    kind: str,
    value: str,
    name_kind: str = "",
    script: str = "",
    is_primary: bool = False,
) -> Identity:
    require_editor(user, person)
    errors = {}
    if kind not in IdentityKind.values:
        errors["kind"] = f"must be one of {', '.join(IdentityKind.values)}"
    if not value or not value.strip():
        errors["value"] = "a value is required"
    elif len(value) > 500:
        errors["value"] = "at most 500 characters"
    if kind == IdentityKind.PHONE and value and len(normalise_phone(value)) < 6:
        errors["value"] = "a phone number needs at least 6 digits"
    if kind == IdentityKind.EMAIL and value and "@" not in value:
        errors["value"] = "not an e-mail address"
    if kind == IdentityKind.BIRTH_DATE and value and value.strip() and "value" not in errors:
        # The person-record reader's rule and message (the importer and the engine use it).
        try:
            birth = records.read_birth_date(value, today=timezone.localdate())
            value = str(birth) if birth else value
        except records.FieldError as exc:
            errors["value"] = exc.message(gettext)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        identity = _add_identity(
            person,
            user,
            kind,
            value.strip(),
            name_kind=name_kind,
            script=script,
            is_primary=is_primary,
        )
        if kind == IdentityKind.NAME and is_primary:
            Identity.objects.filter(person=person, kind="name").exclude(pk=identity.pk).update(
                is_primary=False
            )
            person.display_name = value.strip()
            person.save(update_fields=["display_name", "updated_at"])
        audit.record(
            "identity.create",
            actor=user,
            object_type="person",
            object_ref=person.code,
            detail={"kind": kind, "identity": str(identity.pk)},
        )
    return identity


def remove_identity(user: User, person: Person, identity_id: str) -> None:
    require_editor(user, person)
    deleted, _ = Identity.objects.filter(person=person, pk=identity_id).delete()
    if not deleted:
        raise NotFound(identity_id)
    audit.record(
        "identity.delete",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"identity": identity_id},
    )


def identities_of(user: User, person: Person, *, reveal_addresses: bool = False) -> list[dict]:
    """Decrypted identities for display. Analysts and auditors get none (pseudonymous only).

    Addresses stay masked unless the caller re-authenticated (a sensitive action).
    """
    if not user.sees_identities:
        return []
    rows = []
    for ident in person.identities.all():
        masked = ident.kind == IdentityKind.ADDRESS and not reveal_addresses
        rows.append(
            {
                "id": str(ident.pk),
                "kind": ident.kind,
                "name_kind": ident.name_kind,
                "script": ident.script,
                "is_primary": ident.is_primary,
                "value": None if masked else ident.value,
                "masked": masked,
                "created_at": ident.created_at,
            }
        )
    audit.record(
        "identity.read",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"count": len(rows), "addresses_revealed": reveal_addresses},
    )
    return rows


# --- Consent and trusted contacts -----------------------------------------------------------


def record_consent(
    user: User, person: Person, *, purpose: str, granted: bool, scope: str = "", method: str = ""
) -> Consent:
    require_editor(user, person)
    return _save_consent(
        person, purpose=purpose, granted=granted, scope=scope, method=method, by=user
    )


def record_withdrawal_by_person(person_id: Any, *, purpose: str, method: str) -> Consent:
    """The person themselves withdrew a consent (e.g. "stop check-ins" with their PIN).

    No staff user is involved, so no editor check: the caller has authenticated the person
    (their PIN). Recorded like a staff entry — a consent row and its audit event — so that
    re-enrolling needs a new consent, whoever asks.
    """
    person = Person.objects.get(pk=person_id)
    return _save_consent(person, purpose=purpose, granted=False, method=f"person:{method}")


def _save_consent(
    person: Person,
    *,
    purpose: str,
    granted: bool,
    scope: str = "",
    method: str = "",
    by: User | None = None,
) -> Consent:
    """A consent row and its audit event; `by` is the staff member, None the person."""
    from .models import ConsentPurpose

    if purpose not in ConsentPurpose.values:
        raise InvalidInput({"purpose": f"must be one of {', '.join(ConsentPurpose.values)}"})
    # One transaction: what other apps do on a consent change (post_save receivers, e.g.
    # check-ins stop monitoring on a withdrawal) commits with the consent or not at all.
    with transaction.atomic():
        consent = Consent.objects.create(
            person=person,
            purpose=purpose,
            granted=granted,
            scope=scope[:200],
            method=method[:32],
            recorded_by=by,
        )
        audit.record(
            "consent.record",
            actor=by,
            organisation_id=person.organisation_id if by is None else None,
            object_type="person",
            object_ref=person.code,
            detail={
                "purpose": purpose,
                "granted": granted,
                **({} if by is not None else {"by": "person"}),
            },
        )
    return consent


def current_consents(person: Person) -> dict[str, Consent]:
    """The consent in force per purpose: the newest row of each."""
    current: dict[str, Consent] = {}
    for consent in person.consents.order_by("purpose", "-recorded_at", "-id"):
        current.setdefault(consent.purpose, consent)
    return current


def has_consent(person: Person, purpose: str) -> bool:
    consent = current_consents(person).get(purpose)
    return bool(consent and consent.granted)


def add_trusted_contact(
    user: User,
    person: Person,
    *,
    name: str,
    relationship: str = "",
    phone: str = "",
    email: str = "",
    language: str = "ko",
) -> TrustedContact:
    require_editor(user, person)
    errors = {}
    if not name.strip():
        errors["name"] = "a name is required"
    if not phone.strip() and not email.strip():
        errors["phone"] = "a phone number or an e-mail address is required"
    if email and "@" not in email:
        errors["email"] = "not an e-mail address"
    if errors:
        raise InvalidInput(errors)
    contact = TrustedContact(person=person, relationship=relationship[:64], language=language)
    contact.name, contact.phone, contact.email = name.strip(), phone.strip(), email.strip()
    contact.save()
    audit.record(
        "trusted_contact.create",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"contact": str(contact.pk)},
    )
    return contact


def trusted_contacts_of(user: User, person: Person) -> list[TrustedContact]:
    if not user.sees_identities:
        return []
    contacts = list(person.trusted_contacts.filter(removed_at__isnull=True))
    audit.record(
        "trusted_contact.read",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"count": len(contacts)},
    )
    return contacts


# --- Sharing --------------------------------------------------------------------------------


def grant_access(
    user: User, person: Person, to_organisation: Organisation, reason: str
) -> SharingGrant:
    """Share one person with another organisation (needs the person's sharing consent)."""
    accounts.require_role(user, "admin", "supervisor", "caseworker")
    require_owner(user, person, purpose="share")  # a grantee cannot pass the person on
    if not reason.strip():
        raise InvalidInput({"reason": "say why the person is shared"})
    if not has_consent(person, "sharing"):
        raise InvalidInput({"consent": "the person has not consented to sharing"})
    grant = SharingGrant.objects.create(
        person=person, to_organisation=to_organisation, granted_by=user, reason=reason[:500]
    )
    audit.record(
        "person.share",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"to_organisation": to_organisation.pk, "grant": grant.pk},
    )
    return grant


def grant_for_referral(
    user: User,
    person: Person,
    *,
    granted_by: User,
    reason: str,
    referral: str,
) -> SharingGrant:
    """Share a person (read-only, like every grant) with the organisation of `user`, who
    just accepted a case referral of them (`referral`: its code). The consent was checked
    when the owner proposed the referral (the person's or the family's recorded consent, or
    an override a supervisor approved): `granted_by` is the owner's member who proposed or
    approved it, and must belong to the person's organisation. A live grant to the same
    organisation is reused. Audited in both organisations."""
    accounts.require_role(user, "admin", "supervisor", "caseworker")
    require_owner(granted_by, person, purpose="share")
    if user.organisation_id is None or user.organisation_id == person.organisation_id:
        raise InvalidInput({"to_organisation": _("Share a person with another organisation.")})
    grant = SharingGrant.objects.filter(
        person=person, to_organisation_id=user.organisation_id, revoked_at__isnull=True
    ).first()
    if grant is None:
        grant = SharingGrant.objects.create(
            person=person,
            to_organisation_id=user.organisation_id,
            granted_by=granted_by,
            reason=reason.strip()[:500] or "case referral",
        )
    for org in (person.organisation_id, user.organisation_id):
        audit.record(
            "person.share",
            actor=user,
            object_type="person",
            object_ref=person.code,
            detail={
                "to_organisation": user.organisation_id,
                "grant": grant.pk,
                "referral": referral,
            },
            organisation_id=org,
        )
    return grant


def revoke_grant(user: User, grant: SharingGrant) -> None:
    if grant.person.organisation_id != user.organisation_id:
        raise NotFound(str(grant.pk))
    grant.revoked_at = timezone.now()
    grant.save(update_fields=["revoked_at"])
    audit.record(
        "person.unshare",
        actor=user,
        object_type="person",
        object_ref=grant.person.code,
        detail={"grant": grant.pk},
    )


@dataclass
class GrantRow:
    """One sharing grant as the administration page lists it (no names: codes only)."""

    id: int
    person_code: str
    organisation: str  # the other side: the grantee for ours, the owner for theirs
    granted_by: str  # our own member's user name; "" for another organisation's grant
    granted_at: Any
    reason: str  # ours only: another organisation's reason is theirs
    revoked_at: Any


def organisation_grants(user: User, *, limit: int = 500) -> tuple[list[GrantRow], list[GrantRow]]:
    """The sharing grants of the administrator's organisation: (ours to others, others' to
    us), newest first, revoked ones included. Only its administrators see this list."""
    accounts.require_admin(user)
    org = user.org_id
    base = SharingGrant.objects.select_related(
        "person", "person__organisation", "to_organisation", "granted_by"
    ).order_by("-granted_at", "-id")
    ours = [
        GrantRow(
            g.pk,
            g.person.code,
            g.to_organisation.name,
            g.granted_by.username,
            g.granted_at,
            g.reason,
            g.revoked_at,
        )
        for g in base.filter(person__organisation_id=org)[:limit]
    ]
    theirs = [
        GrantRow(
            g.pk, g.person.code, g.person.organisation.name, "", g.granted_at, "", g.revoked_at
        )
        for g in base.filter(to_organisation_id=org).exclude(person__organisation_id=org)[:limit]
    ]
    audit.record(
        "sharing.list",
        actor=user,
        object_type="organisation",
        object_ref=str(org),
        detail={"ours": len(ours), "theirs": len(theirs)},
    )
    return ours, theirs


# --- Lists and search ---------------------------------------------------------------------


@dataclass
class PersonRow:
    code: str
    display_name: str | None
    birth_year: int | None
    sex: str
    province: str
    status: str
    organisation: str
    # For a search: "exact" (a spelling of the name searched), "close" (one typing error
    # away, jikimi.lib.fuzzy_names) or "" (a code, phone or e-mail; and in the plain list).
    match: str = ""


def _rows(user: User, people: Iterable[Person], match: str = "") -> list[PersonRow]:
    show_names = user.sees_identities
    return [
        PersonRow(
            p.code,
            p.display_name if show_names else None,
            p.birth_year,
            p.sex,
            p.province,
            p.status,
            p.organisation.slug,
            match,
        )
        for p in people
    ]


def list_people(user: User, *, offset: int = 0, limit: int = 50) -> tuple[list[PersonRow], int]:
    qs = visible_people(user).select_related("organisation").order_by("-created_at", "id")
    total = qs.count()
    people = list(qs[offset : offset + limit])
    audit.record(
        "people.list", actor=user, object_type="person", detail={"codes": [p.code for p in people]}
    )
    return _rows(user, people), total


# A shared typo key makes a candidate; its decrypted names confirm it is one typing error
# away (a shared key also joins some pairs two edits apart). At most this many are checked.
CLOSE_CANDIDATES = 200


def _close_matches(query: str, candidates: Iterable[Person]) -> list[Person]:
    """The candidates one of whose names is one typing error from `query`, in their order."""
    people = list(candidates)
    names = Identity.objects.filter(person__in=people, kind=IdentityKind.NAME)
    confirmed = {ident.person_id for ident in names if one_typo_apart(query, ident.value)}
    return [p for p in people if p.pk in confirmed]


def search_people(user: User, query: str, *, limit: int = 50) -> list[PersonRow]:
    """Find people by public code, phone, e-mail or a name in any script or romanisation.

    Names are matched through blind-indexed spelling-neutral keys (jikimi.lib.korean),
    so 이지현 is found from "Lee Jihyun", "Yi Ji-hyon" or "Ri Ji Hyon": those rows come
    first, with `match="exact"`. Then, up to `limit` in all, the people whose name is one
    typing error away ("Kim Gyeogn-guk" for 김경국), through the typo keys of
    jikimi.lib.fuzzy_names, with `match="close"`. The query text is never written to the
    audit log, only how many people it found.

    A role that may not see identities (analyst, auditor) may not search by one either: the
    code a name search returns would tell them who is behind it. They search by code.
    """
    query = query.strip()
    if not query:
        return []
    base = visible_people(user).select_related("organisation")
    close: list[Person] = []
    if CODE_RE.match(query.upper()):
        people = list(base.filter(code=query.upper()))
        match = ""
    elif not user.sees_identities:
        audit.record("people.search.refused", actor=user, object_type="person")
        raise InvalidInput(
            {
                "q": _(
                    "Your role searches by person code only (such as P-7KQ2-M9XD): names, "
                    "phone numbers and e-mail addresses identify people it may not see."
                )
            }
        )
    else:
        typo: set[str] = set()
        match = ""
        if "@" in query:
            digests = {blind_index("email", query.casefold())}
        elif sum(ch.isdigit() for ch in query) >= 6:
            digests = {blind_index("phone", normalise_phone(query))}
        else:
            # A full name gives full-name keys; a given name alone gives given-name keys,
            # which match the given-name keys every stored full name is indexed under.
            digests = {blind_index("name", k) for k in search_keys(query)}
            typo = _typo_query_digests(query)
            match = "exact"
        if not digests and not typo:
            return []
        seen = people_seen_by(user.org_id, person_field="person_id")

        def matching(
            keys: set[str], exclude: list[uuid.UUID] | None = None, cap: int = limit
        ) -> QuerySet:
            rows = IdentityIndex.objects.filter(digest__in=keys).filter(seen)
            if exclude:
                rows = rows.exclude(person_id__in=exclude)
            return rows.values("person_id").distinct()[:cap]

        people = (
            list(base.filter(id__in=matching(digests)).order_by("-created_at")[:limit])
            if digests
            else []
        )
        if typo and len(people) < limit:
            close = _close_matches(
                query,
                base.filter(
                    id__in=matching(typo, [p.pk for p in people], CLOSE_CANDIDATES)
                ).order_by("-created_at"),
            )[: limit - len(people)]
    audit.record(
        "people.search",
        actor=user,
        object_type="person",
        detail={
            "results": len(people) + len(close),
            "codes": [p.code for p in people + close],
            **({"close": len(close)} if close else {}),
        },
    )
    return _rows(user, people, match) + _rows(user, close, "close")


def refresh_people_statistics() -> None:
    """The planner's statistics on the people tables, after a bulk write grew them (an
    import: `core.sql.refresh_statistics`)."""
    from .models import SourceRecord

    refresh_statistics([Person, Identity, IdentityIndex, SourceRecord])


def reindex_identities(batch_size: int = 500) -> int:
    """Rebuild every blind-index entry from the decrypted identities.

    Needed when the name-key derivation (jikimi.lib.korean) or normalisation changes:
    the stored digests were computed by the old rules and would no longer be found. Each
    batch of identities is replaced in its own transaction; returns how many were indexed.
    """
    done = 0
    last = None
    while True:
        qs = Identity.objects.select_related("person").order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        batch = list(qs[:batch_size])
        if not batch:
            break
        with transaction.atomic():
            IdentityIndex.objects.filter(identity__in=batch).delete()
            IdentityIndex.objects.bulk_create(
                IdentityIndex(
                    identity=ident,
                    person=ident.person,
                    organisation_id=ident.person.organisation_id,
                    digest=digest,
                )
                for ident in batch
                for digest in _index_digests(ident.kind, ident.value)
            )
        done += len(batch)
        last = batch[-1].pk
    audit.record("people.reindex", detail={"identities": done})
    return done


# --- Names for other apps' pages ------------------------------------------------------------


def display_names(user: User, people: Iterable[Person | None]) -> dict[Any, str]:
    """{person id: display name} of those of `people` whose name this user may see: a role
    that works with pseudonymous data only (analyst, auditor) gets none, and nobody gets the
    name of a person outside their organisation that no live grant shares. For pages of
    other apps (the alert board) that list people they loaded themselves; the caller audits
    the read of its page."""
    seen = [p for p in people if p is not None]
    org = user.org_id
    if not seen or org is None or not user.is_authenticated or not user.sees_identities:
        return {}
    shared = set(shared_person_ids(org)) if any(p.organisation_id != org for p in seen) else set()
    return {
        p.pk: p.display_name
        for p in seen
        if p.display_name and (p.organisation_id == org or p.pk in shared)
    }
