"""The bulk import writes what the per-act path wrote, row for row (issue #14).

`importer.import_rows` now writes a file's events, victims, blind indexes and audit events in
bulk (`services.write_events`, `people.services.create_people_bulk`, `audit.record_many`).
Here the same rows go into one organisation through the bulk import and into another through
the per-act path it replaced (`services.write_event` per event, each victim through
`people.importer.create_record_person`, each audit event through `audit.record`), and what
each organisation ends up with is compared: people, identities with their values and blind
indexes, source records, events, acts, involvements, information, sources, and the audit
events with their details. Then the chain must verify (`jikimi audit verify`).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from django.db import transaction

from jikimi.audit import services as audit
from jikimi.audit.models import AuditEvent
from jikimi.incidents import importer, services
from jikimi.incidents.models import Act, Event, Information, Involvement
from jikimi.people.models import Identity, IdentityIndex, Person, SourceRecord

pytestmark = pytest.mark.django_db

SAMPLE = Path("/work/shared/data/incidents-sample.csv")
if not SAMPLE.exists():
    SAMPLE = Path(__file__).parent / "data" / "incidents-sample.csv"


def _rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # Two acts whose victim has no record id (each a person of its own), one of them in an
    # event of its own, and a second source with a label: the paths the sample leaves out.
    extra = dict(rows[0], event_id="E-100", victim_record_id="", victim_name="Pak Yong-su")
    extra2 = dict(rows[1], event_id="E-100", victim_record_id="", victim_name="Pak Yong-su")
    # E-101 names V001 again: in the second import, a victim of the first.
    return [*rows, extra, extra2, dict(rows[0], event_id="E-101", source="a named reporter")]


def _per_act_import(rows: list[dict[str, str]], organisation) -> None:
    """The import as it was before the bulk path: one write per event, victim and audit."""
    result = importer.ImportResult("incidents.csv")
    events: dict[str, list] = {}
    for number, row in enumerate(rows, start=2):
        events.setdefault(row["event_id"], []).append((number, row))
    lookups = services.Lookups()
    specs = [
        services.validate_event(None, importer._event_data(eid, er), lookups=lookups)
        for eid, er in events.items()
    ]
    sources: dict = {}
    with transaction.atomic():
        victims = services.earlier_victims(
            organisation, (a.victim.record_id for s in specs for a in s.acts)
        )
        for spec in specs:
            services.write_event(
                spec, organisation, actor=None, victims=victims, sources=sources, victims_known=True
            )
        audit.record(
            "import.incidents",
            organisation_id=organisation.pk,
            object_type="import",
            detail={"rows": len(rows), "events": len(specs), "file": "incidents.csv"},
        )
    assert not result.problems


def _person_key(person: Person) -> tuple:
    """A person as its content: fields, identities (decrypted) with their blind indexes, and
    source records (a fresh "victim-…" record id stands for "none given")."""
    identities = []
    for identity in Identity.objects.filter(person=person):
        digests = sorted(
            IdentityIndex.objects.filter(identity=identity).values_list("digest", flat=True)
        )
        assert all(
            i.person_id == person.pk and i.organisation_id == person.organisation_id
            for i in IdentityIndex.objects.filter(identity=identity)
        )
        identities.append(
            (identity.kind, identity.name_kind, identity.script, identity.is_primary,
             identity.value, identity.created_by_id, tuple(digests))
        )  # fmt: skip
    records = sorted(
        (s.source, "victim-…" if s.record_id.startswith("victim-") else s.record_id, s.county)
        for s in SourceRecord.objects.filter(person=person)
    )
    return (
        person.display_name, person.notes, person.sex, person.province, person.birth_year,
        person.defection_year, person.status, person.created_by_id,
        tuple(sorted(identities)), tuple(records),
    )  # fmt: skip


def _snapshot(organisation) -> dict:
    people = {p.code: _person_key(p) for p in Person.objects.filter(organisation=organisation)}
    events = {e.code: e.external_id for e in Event.objects.filter(organisation=organisation)}

    def source(info: Information) -> tuple:
        return (info.source.kind.code if info.source.kind else None, info.source.label,
                info.source.label_key, info.reliability, info.credibility)  # fmt: skip

    acts = []
    for act in Act.objects.filter(organisation=organisation):
        acts.append(
            (
                events[act.event.code], act.act_type.code, act.date_start, act.date_end,
                act.date_precision, act.date_approx, act.date_text,
                act.place.code if act.place else None, act.lat, act.lon, act.victim_record_id,
                act.victim_details, people[act.victim.code],
                tuple(sorted((i.perpetrator.code, i.degree.code if i.degree else None)
                             for i in Involvement.objects.filter(act=act))),
                tuple(sorted(source(i) for i in Information.objects.filter(act=act))),
            )
        )  # fmt: skip
    event_rows = [
        (e.external_id, e.title, e.description, e.date_start, e.date_end, e.date_precision,
         e.date_approx, e.date_text, e.place.code if e.place else None, e.lat, e.lon,
         e.created_by_id, Involvement.objects.filter(event=e, act=None).count(),
         Information.objects.filter(event=e, act=None).count())
        for e in Event.objects.filter(organisation=organisation)
    ]  # fmt: skip
    n_sources = len(
        {i.source_id for i in Information.objects.filter(event__organisation=organisation)}
    )

    def ref(code: str) -> object:
        return people.get(code) or events.get(code) or code

    log = Counter()
    for ev in AuditEvent.objects.filter(organisation_id=organisation.pk):
        detail = dict(ev.detail)
        if "victims" in detail:
            detail["victims"] = sorted(map(repr, map(ref, detail["victims"])))
        log[(ev.action, ev.actor_id, ev.object_type, repr(ref(ev.object_ref)),
             repr(sorted(detail.items())))] += 1  # fmt: skip
    return {
        "people": Counter(people.values()),
        "events": sorted(event_rows),
        "acts": sorted(acts, key=repr),
        "sources": n_sources,
        "audit": log,
    }


@pytest.mark.parametrize("chunk", [5000, 4])
def test_the_bulk_import_writes_what_the_per_act_import_wrote(
    orgs, cli, settings, monkeypatch, chunk
):
    """`chunk` 4: the file in several chunks (a victim of an earlier chunk named again)."""
    settings.JIKIMI_LINKAGE_ON_SAVE = False  # linkage is the same batch either way
    monkeypatch.setattr(services, "WRITE_CHUNK_ACTS", chunk)
    alpha, beta = orgs
    rows = _rows()
    # A first import of one event, so that the second finds a victim of an earlier import.
    first, rest = rows[:2], rows[2:]
    result = importer.import_rows(first, alpha, name="incidents.csv")
    assert not result.problems and result.created == 2
    _per_act_import(first, beta)
    result = importer.import_rows(rest, alpha, name="incidents.csv")
    assert not result.problems and result.created == len(rest)
    _per_act_import(rest, beta)

    bulk, per_act = _snapshot(alpha), _snapshot(beta)
    assert sum(bulk["people"].values()) == 13  # V001–V011 (V001 once) and two without an id
    assert len(bulk["acts"]) == len(rows) and bulk["sources"] >= 2
    assert bulk["audit"][("person.create", None, "person", "None", "[]")] == 0  # details kept
    for part in ("people", "events", "acts", "sources", "audit"):
        assert bulk[part] == per_act[part], part
    # Every blind-index digest of alpha's people is one beta's per-act path wrote too.
    digests = {
        o.pk: Counter(
            IdentityIndex.objects.filter(organisation_id=o.pk).values_list("digest", flat=True)
        )
        for o in orgs
    }
    assert digests[alpha.pk] == digests[beta.pk] and sum(digests[alpha.pk].values()) > 100

    assert audit.verify_chain() is None
    done = cli("audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_tampered_bulk_run_fails_verification(orgs, cli):
    """The chained run is a chain like any other: altering one of its rows is found."""
    alpha, _ = orgs
    assert not importer.import_rows(_rows(), alpha, name="incidents.csv").problems
    run = list(AuditEvent.objects.filter(action="person.create").order_by("id"))
    assert len(run) == 13
    assert all(b.prev_hash == a.row_hash for a, b in zip(run, run[1:], strict=False))
    victim = run[5]
    AuditEvent.objects.filter(pk=victim.pk).update(detail={"via": "form"})
    problem = audit.verify_chain()
    assert problem is not None and problem.row_id == victim.pk
    assert cli("audit", "verify").returncode == 1


def test_a_code_drawn_twice_or_already_stored_is_drawn_again(orgs, settings, monkeypatch):
    """Public codes are random (8 of 30 characters): at a million rows a bulk import draws one
    already stored, or one twice, often enough to matter, and one clash refused the whole
    file. Here every first draw is a taken code: the import still writes every row, each
    person and event with a code of its own, and the audit names the codes stored."""
    from jikimi.core import codes
    from jikimi.incidents import models as incident_models
    from jikimi.people import models as people_models
    from jikimi.people import services as people

    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    stored = people.create_people_bulk([dict(_person_row(), record_id="X1")], alpha, via="import")[
        0
    ]
    first = importer.import_rows(_rows()[:2], alpha, name="incidents.csv")
    assert not first.problems
    stored_event = Event.objects.get().code
    # Every draw of the models' defaults is a stored code; only codes.give_unique_codes
    # (codes.new_public_code, not patched) draws afresh.
    monkeypatch.setattr(people_models, "new_public_code", lambda prefix: stored.code)
    monkeypatch.setattr(incident_models, "new_public_code", lambda prefix: stored_event)
    rows = _rows()[2:]
    result = importer.import_rows(rows, alpha, name="incidents.csv")
    assert not result.problems and result.created == len(rows)
    person_codes = list(Person.objects.values_list("code", flat=True))
    event_codes = list(Event.objects.values_list("code", flat=True))
    assert len(set(person_codes)) == len(person_codes) > 2
    assert len(set(event_codes)) == len(event_codes) > 2
    assert all(codes.is_public_code(c) for c in person_codes + event_codes)
    logged = set(
        AuditEvent.objects.filter(action="incident.create").values_list("object_ref", flat=True)
    )
    assert logged == set(event_codes)
    logged = set(
        AuditEvent.objects.filter(action="person.create").values_list("object_ref", flat=True)
    )
    assert logged == set(person_codes)
    assert audit.verify_chain() is None


def _person_row() -> dict:
    return {
        "name": "Han Mi-ok",
        "name_hangul": "한미옥",
        "birth_date": "1975-04-02",
        "birth_year": 1975,
        "sex": "F",
        "province": "KP-09",
        "defection_year": None,
        "phone": "",
        "notes": "",
        "source": "ngo_list",
        "record_id": "X1",
        "county": "",
    }


def test_a_look_up_by_victim_record_id_goes_through_its_index(orgs, settings):
    """Acts are looked up by victim record id without the model's ordering (newest first):
    with it, SQLite without statistics read every act of the organisation through the
    list's index for each look-up (408 s of a 100,000-row import beside half a million
    acts). The queries have no ORDER BY, and SQLite plans them on the record-id index."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, _ = orgs
    rows = _rows()
    assert not importer.import_rows(rows[:2], alpha, name="incidents.csv").problems
    known = Act.objects.exclude(victim_record_id="").first()
    assert known is not None
    with CaptureQueriesContext(connection) as queries:
        found = services.earlier_victims(alpha, [known.victim_record_id, "no-such-id"])
        assert importer.import_rows(rows[2:], alpha, name="incidents.csv").problems == []
    assert found == {known.victim_record_id: known.victim}
    lookups = [q["sql"] for q in queries.captured_queries if 'victim_record_id" IN' in q["sql"]]
    assert len(lookups) >= 2  # this call and the second import's
    assert not [sql for sql in lookups if "ORDER BY" in sql]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for sql in lookups:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
                assert "victim_record_id=?" in plan, plan


def _planner_statistics(table: str) -> int:
    """SQLite: the rows of sqlite_stat1 for `table` (none before an ANALYZE); PostgreSQL:
    the planner's row count of `table` (-1 until the table is analyzed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return 0
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return int(cursor.fetchone()[0])


def test_an_import_leaves_the_planner_statistics_of_the_tables_it_grew(orgs, settings, monkeypatch):
    """SQLite has no statistics until ANALYZE runs, and nothing else runs it: an import
    analyzes the tables it wrote (with a row limit, so a million-row table costs
    milliseconds), so the act list's filters are planned on what the tables now hold. On
    SQLite only tables of at least ANALYZE_MIN_ROWS rows: statistics of a small table would
    keep calling it small as it grows (lowered here to the sample's size)."""
    from django.db import connection

    from jikimi.core import sql

    settings.JIKIMI_LINKAGE_ON_SAVE = False
    alpha, beta = orgs
    tables = ("incidents_act", "incidents_event", "people_person", "people_identityindex")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is not None:
                cursor.execute("DELETE FROM sqlite_stat1")
    rows = _rows()
    assert not importer.import_rows(rows[:3], beta, name="incidents.csv").problems
    if connection.vendor == "sqlite":  # too small: left to the planner's assumptions
        assert {t: _planner_statistics(t) for t in tables} == dict.fromkeys(tables, 0)
    monkeypatch.setattr(sql, "ANALYZE_MIN_ROWS", 3)
    assert not importer.import_rows(rows, alpha, name="incidents.csv").problems
    after = {t: _planner_statistics(t) for t in tables}
    if connection.vendor == "sqlite":
        assert all(after[t] > 0 for t in tables), after
    else:
        assert after["incidents_act"] == Act.objects.count() > len(rows), after
        assert after["people_person"] == Person.objects.count(), after
