"""`jikimi import incidents PATH --org SLUG`: the incident CSV/XLSX of DESIGN §8.

One row per act; the rows sharing an `event_id` form one event (its title, description, date and
place are those of its first row that has them; each act keeps its own row's date and place).
All rows or none: every event is validated by the one validator of the services
(`services.validate_event`), its problems mapped back to the row and column they came from, all
in one transaction. Valid events are written as they are validated, in bulk
(`services.EventWriter`: chunks of acts, each written on a background thread while the next is
checked; a few statements per table and chunk, not a dozen per act; issue #14); after the first
problem nothing more is written, every problem is still reported, and the transaction rolls
back, so a file with any problem leaves nothing behind. Victims become person records (source
"incidents", the row's `victim_record_id`, through `people.services.create_people_bulk`), so
linkage sees them after the commit, as one batch; rows naming the same `victim_record_id` are
one person, also across imports.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.db import transaction
from django.utils import translation

from jikimi.accounts.models import Organisation
from jikimi.audit import services as audit
from jikimi.core.errors import InvalidInput
from jikimi.core.importers import ImportResult, RowProblem, no_cyclic_gc
from jikimi.core.sql import bulk_write_cache
from jikimi.people.importer import read_rows
from jikimi.people.services import IdentityIndexer

from . import services
from .models import Event

REQUIRED = ("event_id", "act_type", "date")
OPTIONAL = (
    "date_approx",
    "place",
    "victim_record_id",
    "victim_name",
    "victim_name_hangul",
    "victim_birth_date",
    "victim_sex",
    "victim_province",
    "perpetrator",
    "involvement",
    "source",
    "source_reliability",
    "information_credibility",
    "title",
    "description",
)
COLUMNS = REQUIRED + OPTIONAL

_ACT_KEY = re.compile(r"^acts\[(\d+)\](?:\.(.+))?$")
# The path of a field in `validate_event`'s input → the column it came from.
_ACT_FIELDS = {
    "act_type": "act_type",
    "date": "date",
    "date_approx": "date_approx",
    "place": "place",
    "victim": "victim_name",
    "victim.name": "victim_name",
    "victim.name_hangul": "victim_name_hangul",
    "victim.birth_date": "victim_birth_date",
    "victim.sex": "victim_sex",
    "victim.province": "victim_province",
    "victim.record_id": "victim_record_id",
    "involvements[0].perpetrator": "perpetrator",
    "involvements[0].involvement": "involvement",
    "information[0].source": "source",
    "information[0].source_reliability": "source_reliability",
    "information[0].information_credibility": "information_credibility",
}


def import_incidents(path: Path, organisation: Organisation) -> ImportResult:
    """The command's entry: messages in English (a file command's language)."""
    with translation.override(None), no_cyclic_gc():
        rows = read_rows(path, required=REQUIRED, optional=OPTIONAL)
        return import_rows(rows, organisation, name=str(path))


def _first(rows: list[tuple[int, dict[str, str]]], column: str) -> str:
    return next((row.get(column, "") for _, row in rows if row.get(column)), "")


def _event_data(event_id: str, rows: list[tuple[int, dict[str, str]]]) -> dict:
    first = rows[0][1]
    acts = []
    for _, row in rows:
        act: dict = {
            "act_type": row.get("act_type", ""),
            "date": row.get("date", ""),
            "date_approx": row.get("date_approx", ""),
            "place": row.get("place", ""),
            "victim": {
                "record_id": row.get("victim_record_id", ""),
                "name": row.get("victim_name", ""),
                "name_hangul": row.get("victim_name_hangul", ""),
                "birth_date": row.get("victim_birth_date", ""),
                "sex": row.get("victim_sex", ""),
                "province": row.get("victim_province", ""),
            },
        }
        if row.get("perpetrator") or row.get("involvement"):
            act["involvements"] = [
                {
                    "perpetrator": row.get("perpetrator", ""),
                    "involvement": row.get("involvement", ""),
                }
            ]
        if any(row.get(c) for c in ("source", "source_reliability", "information_credibility")):
            act["information"] = [
                {
                    "source": row.get("source", ""),
                    "source_reliability": row.get("source_reliability", ""),
                    "information_credibility": row.get("information_credibility", ""),
                }
            ]
        acts.append(act)
    return {
        "external_id": event_id,
        "title": _first(rows, "title"),
        "description": _first(rows, "description"),
        "date": first.get("date", ""),
        "date_approx": first.get("date_approx", ""),
        "place": first.get("place", ""),
        "acts": acts,
    }


def _problems(error: InvalidInput, rows: list[tuple[int, dict[str, str]]]) -> list[RowProblem]:
    found = []
    for key, message in error.messages().items():
        row, column = rows[0][0], key
        if match := _ACT_KEY.match(key):
            row = rows[int(match.group(1))][0]
            column = _ACT_FIELDS.get(match.group(2) or "", match.group(2) or "act_type")
        found.append(RowProblem(row, column, message))
    return found


def import_rows(
    rows: list[dict[str, str]], organisation: Organisation, *, name: str
) -> ImportResult:
    """`import_incidents` of rows already read: all or none, every problem reported."""
    with no_cyclic_gc():
        return _import_rows(rows, organisation, name=name)


def _import_rows(
    rows: list[dict[str, str]], organisation: Organisation, *, name: str
) -> ImportResult:
    result = ImportResult(name)
    events: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in enumerate(rows, start=2):  # the header is row 1
        if not row:
            continue
        event_id = row.get("event_id", "")
        if not event_id:
            result.problems.append(
                RowProblem(number, "event_id", services.Problem("required").text())
            )
            continue
        if len(event_id) > 128:
            result.problems.append(
                RowProblem(number, "event_id", services.Problem("too_long", limit=128).text())
            )
            continue
        events.setdefault(event_id, []).append((number, row))
    already = set(
        Event.objects.filter(organisation=organisation, external_id__in=list(events)).values_list(
            "external_id", flat=True
        )
    )
    lookups = services.Lookups(preload_places=True)
    # The victims already recorded, by the record ids the file names (as validation
    # reads them: trimmed, at most 128 characters).
    victims = services.earlier_victims(
        organisation,
        (
            row.get("victim_record_id", "").strip()[:128]
            for event_rows in events.values()
            for _number, row in event_rows
        ),
    )
    # SQLite's page cache while the rows go in: about 10 KiB of database a row (most of it
    # blind-index rows in three B-trees), so a 100,000-row file's indexes stay in memory
    # instead of spilling pages to the WAL again and again (17 s → 7 s at the commit).
    cache = min(1024, max(256, len(rows) // 100))
    # The victims' digests: in a large file a child process computes them while the rest
    # is validated and written (`IdentityIndexer.expect`); stopped however this ends.
    indexer = IdentityIndexer()
    events_written = acts_written = 0
    try:
        with transaction.atomic(), bulk_write_cache(cache):
            # Valid events are written as they come (`EventWriter`: by chunks, each on a
            # background thread) while the rest of the file is checked. After the first
            # problem nothing more is written, every problem is still found, and the
            # transaction rolls back: all rows or none.
            with services.EventWriter(organisation, indexer, victims) as writer:
                for event_id, event_rows in events.items():
                    if event_id in already:
                        result.problems.append(
                            RowProblem(
                                event_rows[0][0], "event_id", f"{event_id!r} was already imported"
                            )
                        )
                        continue
                    try:
                        spec = services.validate_event(
                            None, _event_data(event_id, event_rows), lookups=lookups
                        )
                    except InvalidInput as exc:
                        result.problems.extend(_problems(exc, event_rows))
                        continue
                    if not result.problems:
                        services.expect_victims(indexer, spec, victims)
                        writer.add(spec)
                        events_written += 1
                        acts_written += len(spec.acts)
                if result.problems:
                    raise _Refused
            audit.record(
                "import.incidents",
                organisation_id=organisation.pk,
                object_type="import",
                detail={"rows": acts_written, "events": events_written, "file": Path(name).name},
            )
    except _Refused:
        # Dedupe (a first row's bad date is the event's and its act's) and sort by row.
        unique = {(p.row, p.column): p for p in result.problems}
        result.problems = sorted(
            unique.values(),
            key=lambda p: (p.row, COLUMNS.index(p.column) if p.column in COLUMNS else 99),
        )
        return result
    finally:
        indexer.close()
    result.created = acts_written
    services.refresh_incident_statistics()
    return result


class _Refused(Exception):
    """A problem in the file: what was written of it is rolled back."""
