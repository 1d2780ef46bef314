"""`jikimi import people PATH --org SLUG`: the person-record CSV/XLSX of DESIGN §8.

All rows or none: every row is validated first and every problem is reported with its row
number (as a spreadsheet shows it: the header is row 1), column and reason; only a file
without problems is written, in one transaction.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from jikimi.accounts.models import Organisation
from jikimi.audit import services as audit
from jikimi.core.importers import ImportFileError, ImportResult, RowProblem
from jikimi.lib import records

from . import services
from .models import Person, SourceRecord

REQUIRED = records.REQUIRED
OPTIONAL = records.OPTIONAL


def read_rows(
    path: Path, *, required: tuple[str, ...] = REQUIRED, optional: tuple[str, ...] = OPTIONAL
) -> list[dict[str, str]]:
    """Rows as dicts of stripped strings, from CSV (UTF-8, BOM allowed) or XLSX, with the
    header checked against the `required` and `optional` columns (the person-record format's
    by default; incidents' importer passes its own)."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            from openpyxl import load_workbook

            sheet = load_workbook(path, read_only=True, data_only=True).active
            values = [
                ["" if v is None else str(v).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
        else:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                values = [[v.strip() for v in row] for row in csv.reader(fh)]
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV or XLSX"
        ) from None
    except (OSError, csv.Error, ValueError, KeyError) as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None
    if not values:
        raise ImportFileError(f"{path}: the file is empty (a header row is needed)")
    header = [h.strip().lower() for h in values[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(f"{path}, row 1: missing required column(s) {', '.join(missing)}")
    unknown = [h for h in header if h and h not in required + optional]
    if unknown:
        raise ImportFileError(
            f"{path}, row 1: unknown column(s) {', '.join(unknown)} "
            f"(known: {', '.join(required + optional)})"
        )
    rows: list[dict[str, str]] = []
    for values_row in values[1:]:
        if not any(values_row):
            rows.append({})  # a blank line keeps its row number but is skipped
            continue
        rows.append(
            {h: (values_row[i] if i < len(values_row) else "") for i, h in enumerate(header) if h}
        )
    return rows


def validate(rows: list[dict[str, str]]) -> tuple[list[dict], list[RowProblem]]:
    """Every row through the one person-record reader (`jikimi.lib.records`), as the engine
    reads it; a problem in any row stops the import."""
    problems: list[RowProblem] = []
    clean: list[dict] = []
    seen: dict[str, int] = {}
    today = timezone.localdate()
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        record, errors = records.parse_record(row, today=today)
        problems.extend(RowProblem(i, error.column, error.message()) for error in errors)
        if rid := record.record_id:
            if rid in seen:
                problems.append(
                    RowProblem(i, "record_id", f"duplicate of row {seen[rid]} ({rid!r})")
                )
            seen.setdefault(rid, i)
        clean.append(
            {
                **dataclasses.asdict(record),
                "row": i,
                # Stored as an identity in its normalised form (1957.1.5 → 1957-01-05), the
                # form the blind index and the linkage read.
                "birth_date": str(record.birth_date) if record.birth_date else "",
                "birth_year": record.birth_date.year if record.birth_date else None,
            }
        )
    return clean, problems


def import_people(path: Path, organisation: Organisation) -> ImportResult:
    return import_rows(read_rows(path), organisation, name=str(path))


def import_rows(
    rows: list[dict[str, str]], organisation: Organisation, *, name: str
) -> ImportResult:
    """`import_people` of rows already read (`read_rows`' shape; the demo seed builds them):
    all or none, every problem reported; `name` is the file's (or the list's) name."""
    result = ImportResult(name)
    clean, result.problems = validate(rows)
    if not result.problems:
        existing = set(
            SourceRecord.objects.filter(organisation=organisation).values_list(
                "source", "record_id"
            )
        )
        for row in clean:
            if (row["source"], row["record_id"]) in existing:
                result.problems.append(
                    RowProblem(
                        row["row"],
                        "record_id",
                        f"{row['record_id']!r} from source {row['source']!r} was already imported",
                    )
                )
    if result.problems:
        return result
    with transaction.atomic():
        for row in clean:
            _create(row, organisation)
        audit.record(
            "import.people",
            organisation_id=organisation.pk,
            object_type="import",
            detail={"rows": len(clean), "file": Path(name).name},
        )
    result.created = len(clean)
    services.refresh_people_statistics()
    return result


def create_record_person(row: dict, organisation: Organisation) -> Person:
    """One person from a validated person-record row (`validate`'s shape), with its source
    record: for another app's importer whose rows name people (incidents' victims), so they
    are person records like any imported one, linked after the commit. The caller validates
    and holds the transaction."""
    return _create(row, organisation)


def _create(row: dict, organisation: Organisation) -> Person:
    person = Person(
        organisation=organisation,
        sex=row["sex"],
        province=row["province"],
        birth_year=row.get("birth_year"),
        defection_year=row.get("defection_year"),
    )
    person.display_name = row["name_hangul"] or row["name"]
    person.notes = row["notes"] or None
    person.save()
    # The service minus the per-user checks: an import is the organisation's own act,
    # audited below as one event per person.
    for kind, value, extra in services.record_identities(row):
        services._add_identity(person, None, kind, value, **extra)
    SourceRecord.objects.create(
        person=person,
        organisation=organisation,
        source=row["source"],
        record_id=row["record_id"],
        county=row["county"][:64],
    )
    audit.record(
        "person.create",
        organisation_id=organisation.pk,
        object_type="person",
        object_ref=person.code,
        detail={"via": "import"},
    )
    return person
