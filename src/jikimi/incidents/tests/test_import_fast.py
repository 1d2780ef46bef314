"""The fast import path (issue #14) stores what the slow one stored, read back independently.

The bulk writer builds rows as tuples (`core.sql.Rows`), seals personal fields with one
AES-GCM object (`crypto.Sealer`) and hashes blind-index keys with prepared HMAC states
(`crypto.BlindIndexer`). Each is checked here against a reference that does not share its
code: the standard library's `hmac`, `crypto.decrypt` and the ORM's own decryption, the
per-value `_index_digests` with `blind_index`, and the people search a case worker uses.
"""

from __future__ import annotations

import collections
import csv
import hashlib
import hmac
import threading
import uuid
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from jikimi.audit import services as audit
from jikimi.audit.models import AuditEvent
from jikimi.core import codes, crypto
from jikimi.core.keyring import get_keyring
from jikimi.core.sql import Rows
from jikimi.incidents import importer
from jikimi.incidents.models import Act, Event
from jikimi.people import services as people
from jikimi.people.models import Identity, IdentityIndex, Person, SourceRecord

pytestmark = pytest.mark.django_db

SAMPLE = Path("/work/shared/data/incidents-sample.csv")
if not SAMPLE.exists():
    SAMPLE = Path(__file__).parent / "data" / "incidents-sample.csv"

VALUES = ["n:kim:cholsu", "g:jihyon", "r:i:jihyon", "", "탁윤슬", "ŏ ŭ 图们", "x" * 300]


def test_the_blind_indexer_gives_the_standard_hmac():
    index = crypto.BlindIndexer()
    key = get_keyring().index
    for kind in ("name", "name_typo", "birth_date", "incident_source"):
        for value in VALUES:
            expected = hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
            assert index(kind, value) == expected[:32] == crypto.blind_index(kind, value)
            assert index(kind, value) == expected[:32]  # memoised: the same again


def test_the_blind_indexer_forgets_beyond_its_bound_and_still_agrees(monkeypatch):
    monkeypatch.setattr(crypto.BlindIndexer, "MEMO_MAX", 3)
    index = crypto.BlindIndexer()
    for i in range(10):
        assert index("name", f"g:{i}") == crypto.blind_index("name", f"g:{i}")
    assert len(index._memo) <= 3


def test_sealed_values_decrypt_bound_to_their_row():
    sealer = crypto.Sealer()
    aad = crypto.associated_data("people_person", "notes", uuid.uuid4())
    first, second = sealer.seal("탁윤슬", aad), sealer.seal("탁윤슬", aad)
    assert first != second  # a fresh nonce each
    assert first.startswith(f"v1:{get_keyring().active}:")
    assert crypto.decrypt(first, aad) == crypto.decrypt(second, aad) == "탁윤슬"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(first, crypto.associated_data("people_person", "notes", uuid.uuid4()))


def test_rows_need_every_column():
    with pytest.raises(TypeError, match="exactly the fields"):
        Rows(Person, people.PERSON_COLUMNS[:-1])
    with pytest.raises(TypeError, match="exactly the fields"):
        Rows(Person, (*people.PERSON_COLUMNS, "nonsense"))


def test_rows_store_what_the_orm_reads_back(orgs):
    """Encrypted fields sealed to their row (the ORM decrypts them; the column holds no
    plaintext), UUIDs, dates and times in the database's form."""
    alpha, _ = orgs
    now = timezone.now()
    pid = uuid.uuid4()
    rows = Rows(Person, people.PERSON_COLUMNS)
    rows.add(pid, "P-2345-6789", alpha.pk, 1975, "F", "KP-09", None, "active", None,
             "탁윤슬", now, now, None)  # fmt: skip
    with transaction.atomic():
        rows.insert()
    person = Person.objects.get(pk=pid)
    assert (person.display_name, person.notes, person.birth_year, person.created_at) == (
        "탁윤슬", None, 1975, now,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT display_name FROM people_person")
        (raw,) = cursor.fetchone()
    assert "탁윤슬" not in raw and raw.startswith("v1:")


def test_rows_prepared_ahead_are_sealed_once_and_keep_a_code_changed_after(orgs):
    """`Rows.prepare` (what an importer runs in its own thread before its background writer
    inserts): rows prepared, then more added, then inserted — each sealed exactly once (the
    ORM reads the plaintext back), and a plain column changed after preparing (a code
    drawn again) is what is stored."""
    alpha, _ = orgs
    now = timezone.now()
    ids = [uuid.uuid4() for _ in range(3)]
    rows = Rows(Person, people.PERSON_COLUMNS)
    for i, pid in enumerate(ids[:2]):
        rows.add(pid, f"P-2345-678{i}", alpha.pk, 1975, "F", "KP-09", None, "active",
                 f"note {i}", f"탁윤슬 {i}", now, now, None)  # fmt: skip
    rows.prepare()
    sealed = people.PERSON_COLUMNS.index("display_name")
    assert all(row[sealed].startswith("v1:") for row in rows.rows)
    rows.set_column("code", ["P-2345-678X", "P-2345-6781"])
    rows.add(ids[2], "P-2345-6782", alpha.pk, None, "M", "", None, "active", None, "탁윤슬 2",
             now, now, None)  # fmt: skip
    rows.prepare_ahead()  # PostgreSQL: now; SQLite: left to insert (either way once)
    with transaction.atomic():
        rows.insert()
    assert rows.rows == []
    stored = {p.pk: p for p in Person.objects.filter(pk__in=ids)}
    assert [(stored[i].code, stored[i].display_name, stored[i].notes) for i in ids] == [
        ("P-2345-678X", "탁윤슬 0", "note 0"),
        ("P-2345-6781", "탁윤슬 1", "note 1"),
        ("P-2345-6782", "탁윤슬 2", None),
    ]


def _import(alpha) -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # A victim under one romanisation only (synthetic): found below by others.
    rows.append(dict(rows[0], event_id="E-900", victim_record_id="V900", victim_name="Ri Ji Hyon",
                     victim_name_hangul="", victim_birth_date="1990"))  # fmt: skip
    result = importer.import_rows(rows, alpha, name="incidents.csv")
    assert not result.problems and result.created == len(rows)
    return rows


@pytest.fixture
def child(monkeypatch):
    """The digests computed ahead by a child process (`IdentityIndexer.prefetch`), however
    few the values, in batches of 5; `child.indexers` are the import's indexers."""
    monkeypatch.setattr(people.IdentityIndexer, "PREFETCH_MIN", 1)
    monkeypatch.setattr(people.IdentityIndexer, "BATCH", 5)
    made: list[people.IdentityIndexer] = []
    real_init = people.IdentityIndexer.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(people.IdentityIndexer, "__init__", init)
    return made


@pytest.mark.parametrize("ahead", [False, True], ids=["here", "child"])
def test_every_identity_carries_the_digests_of_its_value(orgs, settings, request, ahead):
    """Read back through the ORM (which decrypts each value) and keyed again one value at a
    time by `_index_digests` with `blind_index`: the digests stored are exactly those,
    whether this process computed them or a child process did ahead of the writer."""
    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    indexers = request.getfixturevalue("child") if ahead else []
    rows = _import(alpha)
    if ahead:  # every new victim's values came from the child, and it was stopped
        (indexer,) = indexers
        assert indexer.from_child >= len({r["victim_record_id"] for r in rows})
        assert indexer._worker is None
    stored = collections.defaultdict(list)
    for identity_id, person_id, org, digest in IdentityIndex.objects.values_list(
        "identity_id", "person_id", "organisation_id", "digest"
    ):
        stored[identity_id].append((person_id, org, digest))
    identities = list(Identity.objects.filter(person__organisation=alpha))
    assert len(identities) >= len({r["victim_record_id"] for r in rows})
    for identity in identities:
        expected = sorted(people._index_digests(identity.kind, identity.value))
        assert sorted(d for _, _, d in stored.pop(identity.pk)) == expected
    assert not stored  # no digest row without its identity
    # Each person: its source record, its name as display name, its audit event.
    for person in Person.objects.filter(organisation=alpha):
        record = SourceRecord.objects.get(person=person)
        names = [i.value for i in person.identities.filter(kind="name")]
        assert record.source == "incidents" and person.display_name in names
    logged = collections.Counter(
        AuditEvent.objects.filter(action="person.create").values_list("object_ref", flat=True)
    )
    assert logged == collections.Counter(Person.objects.values_list("code", flat=True))
    assert audit.verify_chain() is None


def test_a_child_that_dies_loses_nothing(orgs, settings, child, monkeypatch):
    """The child killed after its first batch: the import still stores every digest (the
    rest computed here), the same as computed one at a time."""
    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    real_take = people.IdentityIndexer._take_batch

    def take_then_kill(self):
        real_take(self)
        pool = self._worker._pool
        for process in list((pool._processes or {}).values()) if pool else []:
            process.kill()
            process.join()
        # What it had not handed over is lost with it: a child quick enough to finish every
        # batch before the kill (each value has few keys now) would otherwise have answered
        # them all, and nothing would be left to compute here.
        self._futures = [None] * len(self._futures)

    monkeypatch.setattr(people.IdentityIndexer, "_take_batch", take_then_kill)
    _import(alpha)
    (indexer,) = child
    identities = list(Identity.objects.filter(person__organisation=alpha))
    # The child answered its first batch, not all.
    assert indexer.from_child == people.IdentityIndexer.BATCH
    assert indexer.from_child < len({(i.kind, i.value) for i in identities})
    for identity in identities:
        stored = sorted(identity.index.values_list("digest", flat=True))
        assert stored == sorted(people._index_digests(identity.kind, identity.value))


def test_an_imported_victim_is_found_by_another_spelling(orgs, staff, settings):
    """The search a case worker uses finds a victim of the bulk import under another
    romanisation of the name, and by a name with one typing error."""
    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    _import(alpha)
    victim = Act.objects.get(victim_record_id="V900").victim
    for query in ("이지현", "Lee Ji-hyun", "Yi Jihyon"):
        found = people.search_people(staff["caseworker"], query)
        assert victim.code in [p.code for p in found if p.match == "exact"], query
    found = people.search_people(staff["caseworker"], "Ri Ji Hyoon")  # one typing error
    assert victim.code in [p.code for p in found]


def test_public_codes_are_well_formed_and_every_character_is_drawn():
    drawn = [codes.new_public_code("E") for _ in range(3000)]
    assert all(codes.is_public_code(c) and c.startswith("E-") for c in drawn)
    letters = collections.Counter(ch for c in drawn for ch in c[2:].replace("-", ""))
    assert set(letters) == set(codes.ALPHABET)
    # 24,000 draws of 30 characters: 800 each expected; 600..1000 is far beyond 6 sigma.
    assert all(600 < n < 1000 for n in letters.values())


def test_events_and_acts_keep_their_codes_and_victims(orgs, settings):
    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    rows = _import(alpha)
    events = {e.external_id: e for e in Event.objects.filter(organisation=alpha)}
    assert set(events) == {r["event_id"] for r in rows}
    assert all(codes.is_public_code(e.code) for e in events.values())
    assert Act.objects.filter(organisation=alpha).count() == len(rows)
    for r in rows:
        for act in Act.objects.filter(
            event=events[r["event_id"]], victim_record_id=r["victim_record_id"]
        ):
            assert act.victim.organisation_id == alpha.pk
            assert act.event.title  # decrypts, bound to its row
    logged = AuditEvent.objects.filter(action="incident.create")
    assert {e.object_ref for e in logged} == {e.code for e in events.values()}


def test_the_import_runs_without_cyclic_gc_and_restores_it(orgs, settings, monkeypatch):
    import gc

    from jikimi.incidents import services

    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    seen = []
    write = services._write_chunk
    monkeypatch.setattr(
        services, "_write_chunk", lambda *a, **k: seen.append(gc.isenabled()) or write(*a, **k)
    )
    assert gc.isenabled()
    _import(alpha)
    assert seen and not any(seen) and gc.isenabled()
    gc.disable()
    try:  # off already (not ours): left off
        importer.import_rows([], alpha, name="empty.csv")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_text_with_tabs_backslashes_and_newlines_is_stored_as_written(orgs, settings):
    """PostgreSQL takes the rows by COPY: its text format escapes tabs, newlines and
    backslashes (`\\N` is its NULL), and what was written must read back unchanged."""
    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    with SAMPLE.open(encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    odd = 'E\t\\N "1",\n탁\\'
    result = importer.import_rows(
        [dict(row, event_id=odd, victim_record_id="V\\N\t2", title="T\\N\tx\n")],
        alpha,
        name="odd.csv",
    )
    assert not result.problems
    event = Event.objects.get(organisation=alpha)
    act = Act.objects.get(event=event)
    assert (event.external_id, act.victim_record_id, event.title) == (odd, "V\\N\t2", "T\\N\tx")
    assert SourceRecord.objects.get(person=act.victim).record_id == "V\\N\t2"
    assert audit.verify_chain() is None


def test_a_blind_index_write_that_fails_in_its_thread_fails_the_import(orgs, monkeypatch):
    """A chunk is written on a background thread (`core.sql.BackgroundWriter`), its
    blind-index rows last; if that write fails, the import fails with its error and writes
    nothing at all."""
    alpha, _ = orgs
    calls, threads = [], []
    real = people.insert_index_rows

    def broken(rows):
        real(rows)  # written, then the failure: all of it must roll back
        calls.append(len(rows))
        threads.append(threading.current_thread().name)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(people, "insert_index_rows", broken)
    with pytest.raises(OSError, match="disk full"):
        importer.import_incidents(SAMPLE, alpha)
    assert calls and threads == ["jikimi-bulk-write"]  # it ran, in the writer's thread
    assert not Event.objects.exists() and not Act.objects.exists()
    assert not Person.objects.exists() and not IdentityIndex.objects.exists()
