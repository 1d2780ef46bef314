"""`jikimi import people PATH --org SLUG`: the person-record CSV/XLSX of DESIGN §8.

All rows or none: every row is validated first and every problem is reported with its row
number (as a spreadsheet shows it: the header is row 1), column and reason; only a file
without problems is written, in one transaction.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from jikimi.accounts.models import Organisation
from jikimi.audit import services as audit
from jikimi.core.formats import PERSON_RECORD_OPTIONAL, PERSON_RECORD_REQUIRED
from jikimi.core.importers import ImportFileError, ImportResult, RowProblem
from jikimi.linkage.korean import province_code

from . import services
from .models import IdentityKind, NameKind, Person, SourceRecord

REQUIRED = PERSON_RECORD_REQUIRED
OPTIONAL = PERSON_RECORD_OPTIONAL
TYPED = ("sex", "province", "defection_year")
DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows as dicts of stripped strings, from CSV (UTF-8, BOM allowed) or XLSX."""
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
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFileError(f"{path}, row 1: missing required column(s) {', '.join(missing)}")
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportFileError(
            f"{path}, row 1: unknown column(s) {', '.join(unknown)} "
            f"(known: {', '.join(REQUIRED + OPTIONAL)})"
        )
    rows = []
    for values_row in values[1:]:
        if not any(values_row):
            rows.append({})  # a blank line keeps its row number but is skipped
            continue
        rows.append(
            {h: (values_row[i] if i < len(values_row) else "") for i, h in enumerate(header) if h}
        )
    return rows


def _parse_birth_date(value: str) -> tuple[int, str] | None:
    match = DATE_RE.match(value)
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        date(year, month or 1, day or 1)
    except ValueError:
        return None
    return year, value


def validate(rows: list[dict[str, str]]) -> tuple[list[dict], list[RowProblem]]:
    problems: list[RowProblem] = []
    clean: list[dict] = []
    seen: dict[str, int] = {}
    this_year = timezone.now().year
    for i, row in enumerate(rows, start=2):
        if not row:
            continue
        out: dict = {"row": i}
        for col in REQUIRED:
            if not row.get(col):
                problems.append(RowProblem(i, col, "is empty (required)"))
        rid = row.get("record_id", "")
        if rid:
            if rid in seen:
                problems.append(
                    RowProblem(i, "record_id", f"duplicate of row {seen[rid]} ({rid!r})")
                )
            seen.setdefault(rid, i)
        if len(row.get("name", "")) > 200:
            problems.append(RowProblem(i, "name", "longer than 200 characters"))
        if value := row.get("birth_date"):
            parsed = _parse_birth_date(value)
            if parsed is None:
                problems.append(
                    RowProblem(i, "birth_date", f"{value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
                )
            elif not 1900 <= parsed[0] <= this_year:
                problems.append(RowProblem(i, "birth_date", f"year {parsed[0]} out of range"))
            else:
                out["birth_year"] = parsed[0]
        if (sex := row.get("sex", "").upper()) not in ("", "M", "F"):
            problems.append(RowProblem(i, "sex", f"{row['sex']!r} is not M or F"))
        out["sex"] = sex
        if value := row.get("province"):
            code = province_code(value)
            if code is None:
                problems.append(
                    RowProblem(
                        i,
                        "province",
                        f"{value!r} is not a province of North Korea this system knows",
                    )
                )
            out["province"] = code or ""
        if value := row.get("defection_year"):
            if not value.isdigit() or not 1950 <= int(value) <= this_year:
                problems.append(
                    RowProblem(i, "defection_year", f"{value!r} is not a year 1950–{this_year}")
                )
            else:
                out["defection_year"] = int(value)
        if (value := row.get("phone")) and len(services.normalise_phone(value)) < 6:
            problems.append(RowProblem(i, "phone", f"{value!r} has fewer than 6 digits"))
        if len(row.get("notes", "")) > 5000:
            problems.append(RowProblem(i, "notes", "longer than 5000 characters"))
        # Typed columns come from `out` only: a blank year must not reach the model as "".
        clean.append({**{k: v for k, v in row.items() if k not in TYPED}, **out})
    return clean, problems


def import_people(path: Path, organisation: Organisation) -> ImportResult:
    result = ImportResult(str(path))
    rows = read_rows(path)
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
            detail={"rows": len(clean), "file": Path(path).name},
        )
    result.created = len(clean)
    return result


def _create(row: dict, organisation: Organisation) -> Person:
    person = Person(
        organisation=organisation,
        sex=row.get("sex", ""),
        province=row.get("province", ""),
        birth_year=row.get("birth_year"),
        defection_year=row.get("defection_year"),
    )
    person.display_name = row.get("name_hangul") or row["name"]
    person.notes = row.get("notes") or None
    person.save()
    add = services._add_identity  # the service minus the per-user checks: an import is
    # the organisation's own act, audited below as one event per person
    add(
        person,
        None,
        IdentityKind.NAME,
        row["name"],
        name_kind=NameKind.SOUTH_LEGAL,
        is_primary=not row.get("name_hangul"),
    )
    if row.get("name_hangul") and row["name_hangul"] != row["name"]:
        add(
            person,
            None,
            IdentityKind.NAME,
            row["name_hangul"],
            name_kind=NameKind.SOUTH_LEGAL,
            is_primary=True,
        )
    if row.get("birth_date"):
        add(person, None, IdentityKind.BIRTH_DATE, row["birth_date"])
    if row.get("phone"):
        add(person, None, IdentityKind.PHONE, row["phone"])
    SourceRecord.objects.create(
        person=person,
        organisation=organisation,
        source=row["source"],
        record_id=row["record_id"],
        county=row.get("county", "")[:64],
    )
    audit.record(
        "person.create",
        organisation_id=organisation.pk,
        object_type="person",
        object_ref=person.code,
        detail={"via": "import"},
    )
    return person
