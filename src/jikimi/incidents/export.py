"""Export of the act list (with the list's filters) to CSV or XLSX: the incident CSV of
DESIGN §8, one row per act, so that `jikimi import incidents` reads an export back.

- Only the user's organisation's acts (the list's own filter, `services._filtered`, without
  the events other organisations shared with it: a grant shares a read-only view of an
  event, not a copy to take away).
- Re-authenticated: the caller says so (pages from `accounts.recently_authenticated`, the API
  from the password in the body), else `accounts.ReauthRequired` and a refusal in the log.
- One audit row per export (`incident.export`): the filters, the format and the row count;
  no names, no text of the acts.
- Streamed (issue #14): memory is bounded by a batch (BATCH acts), not by the number of
  acts. The acts' ids are read in the list's order by one query, as a list of integers
  (8 MB for a million acts; no OFFSET), and each batch of BATCH acts is read, built and
  written before the next. No server-side cursor: one left open by a download cut short
  would outlive its transaction (PostgreSQL names it, and its late close failed another
  request's transaction in a test run). CSV goes out as a generator of encoded chunks
  (StreamingHttpResponse); XLSX is written by openpyxl in write-only mode to an anonymous
  temporary file (gone once closed) and sent with FileResponse.
- The audit row is written by `export_acts`, after the format, the filters and the
  re-authentication have been accepted and before the first byte is produced, with the row
  count from one COUNT of the same query: a refused export is never audited as an export,
  and an export whose download is cut short is still audited (the row count is what it
  would have sent). Acts added or removed while a long export streams can make the file
  differ from that count by those acts; the file itself keeps the list's order.
- Identities only for roles that see them (`user.sees_identities`): for analysts and
  auditors the victim columns other than `victim_record_id` (the person's code, which they
  see on the list too), the named source, the title and the description are empty.
- Every text cell goes through `jikimi.lib.spreadsheet.neutralise_formula` (a leading
  = + - @ tab CR, or their full-width forms, gets an apostrophe), in CSV and in XLSX.

The columns an act cannot fill from one row are the first of several: an act with two
involvements or two sources exports the first of each (the CSV has one of each per row);
an act without its own involvement or source exports its event's first.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.lib.spreadsheet import neutralise_formula
from jikimi.people import services as people
from jikimi.people.models import Identity, IdentityKind, Person, Script

from . import services
from .importer import COLUMNS
from .models import Act, Event, Information, Involvement, Source

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BATCH = 1000
ORDER = ("event__date_start", "event_id", "date_start", "id")  # the list's, for the file


@dataclass
class Export:
    """An accepted (and audited) export, not yet read: `rows()` reads it batch by batch."""

    user: User
    acts: QuerySet[Act]  # the filtered acts, in ORDER
    count: int  # the row count audited (one COUNT before the first row)
    format: str

    def rows(self) -> Iterator[list[str]]:
        """The rows (without the header, COLUMNS), BATCH acts read at a time."""
        ids = list(self.acts.values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH):
            yield from _rows(self.user, ids[start : start + BATCH])

    @property
    def file_name(self) -> str:
        return f"incidents-acts.{self.format}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def _refuse(user: User, why: str, **detail: Any) -> None:
    audit.record(
        "incident.export_refused",
        actor=user,
        object_type="incident",
        detail={"why": why, **detail},
    )


def export_acts(
    user: User,
    filters: services.ActFilter | Mapping[str, Any] | None = None,
    *,
    format: str = "csv",  # noqa: A002 - the caller's word
    reauthenticated: bool,
) -> Export:
    """The acts of the user's organisation matching `filters` (the act list's), as rows of
    COLUMNS. InvalidInput for a bad filter (naming it) or format; ReauthRequired without a
    fresh re-authentication."""
    if format not in FORMATS:
        raise services.InvalidInput(
            {
                "format": services.Problem(
                    "unknown_term_none", value=str(format)[:16], nearest="csv, xlsx"
                ).text()
            }
        )
    if not reauthenticated:
        _refuse(user, "reauth")
        raise accounts.ReauthRequired(gettext("Exporting incidents needs your password again."))
    flt = (
        filters
        if isinstance(filters, services.ActFilter)
        else services.ActFilter.from_mapping(filters or {})
    )
    qs, within = services._filtered(user, flt, shared=False)
    if within is not None:
        qs = services._within(qs, within)
    acts = qs.order_by(*ORDER)
    count = acts.count()
    audit.record(
        "incident.export",
        actor=user,
        object_type="incident",
        detail={
            "filters": {k: v for k, v in sorted(vars(flt).items()) if v},
            "format": format,
            "rows": count,
        },
    )
    return Export(user, acts, count, format)


def _first_links(model: type[Involvement] | type[Information], acts: list[Act], *fields: str):
    """({act id: its first link's `fields`}, {event id: its first link on the whole event}),
    as tuples of values (no model instances: an export reads many)."""
    on_act: dict[Any, tuple] = {}
    on_event: dict[Any, tuple] = {}
    qs = (
        model.objects.filter(event_id__in={a.event_id for a in acts})
        .order_by("id")
        .values_list("act_id", "event_id", *fields)
    )
    act_ids = {a.pk for a in acts}
    for act_id, event_id, *values in qs:
        if act_id is None:
            on_event.setdefault(event_id, tuple(values))
        elif act_id in act_ids:
            on_act.setdefault(act_id, tuple(values))
    return on_act, on_event


def _victims(user: User, victims: Iterable[Person]) -> dict[Any, dict[str, str]]:
    """The person-record columns of the victims whose name this user may see."""
    victims = list(victims)
    names = people.display_names(user, victims)
    shown = [p for p in victims if p.pk in names]
    idents: dict[Any, list[Identity]] = {}
    for ident in Identity.objects.filter(
        person_id__in=[p.pk for p in shown], kind__in=[IdentityKind.NAME, IdentityKind.BIRTH_DATE]
    ).order_by("created_at", "id"):
        idents.setdefault(ident.person_id, []).append(ident)
    out = {}
    for person in shown:
        mine = idents.get(person.pk, [])
        hangul = next(
            (i.value for i in mine if i.kind == IdentityKind.NAME and i.script == Script.HANGUL), ""
        )
        other = next(
            (i.value for i in mine if i.kind == IdentityKind.NAME and i.script != Script.HANGUL), ""
        )
        born = next((i.value for i in mine if i.kind == IdentityKind.BIRTH_DATE), "")
        if not hangul and not other:
            other = names[person.pk]
        out[person.pk] = {
            "victim_name": other,
            "victim_name_hangul": hangul,
            "victim_birth_date": born or (str(person.birth_year) if person.birth_year else ""),
            "victim_sex": person.sex or "",
            "victim_province": person.province or "",
        }
    return out


def _rows(user: User, ids: list[Any]) -> list[list[str]]:
    acts = list(
        Act.objects.filter(pk__in=ids)
        .select_related("act_type", "place", "victim")
        .order_by(*ORDER)
    )
    events = {e.pk: e for e in Event.objects.filter(pk__in={a.event_id for a in acts})}
    inv_act, inv_event = _first_links(Involvement, acts, "perpetrator__code", "degree__code")
    info_act, info_event = _first_links(
        Information, acts, "source_id", "source__kind__code", "reliability", "credibility"
    )
    show = user.sees_identities
    named = {i[0] for i in [*info_act.values(), *info_event.values()] if i[1] is None}
    labels = (
        {src.pk: src.label or "" for src in Source.objects.filter(pk__in=named)} if show else {}
    )
    victims = _victims(user, [a.victim for a in acts]) if show else {}
    out = []
    for act in acts:
        event = events[act.event_id]
        inv = inv_act.get(act.pk) or inv_event.get(act.event_id)
        info = info_act.get(act.pk) or info_event.get(act.event_id)
        source = ""
        if info is not None:
            source = info[1] or labels.get(info[0], "")
        if act.place is not None:
            place = act.place.code
        elif act.lat is not None and act.lon is not None:
            place = f"{act.lat},{act.lon}"
        else:
            place = ""
        row = {
            "event_id": event.external_id or event.code,
            "act_type": act.act_type.code,
            "date": act.date_text,
            "date_approx": "1" if act.date_approx else "",
            "place": place,
            "victim_record_id": act.victim.code,
            **victims.get(act.victim_id, {}),
            "perpetrator": inv[0] if inv else "",
            "involvement": (inv[1] or "") if inv else "",
            "source": source,
            "source_reliability": (info[2] or "") if info and source else "",
            "information_credibility": (info[3] or "") if info and source else "",
            "title": (event.title or "") if show else "",
            "description": (event.description or "") if show else "",
        }
        out.append([neutralise_formula(str(row.get(c, ""))) for c in COLUMNS])
    return out


def render_csv(export: Export) -> Iterator[bytes]:
    """The CSV in encoded chunks, a batch of rows each (UTF-8 with BOM, so spreadsheet
    programs read Hangul): the header first, then the rows as the database gives them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for i, row in enumerate(export.rows(), start=1):
        writer.writerow(row)
        if i % BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(export: Export, out: IO[bytes]) -> None:
    """The workbook into `out`: one sheet, the header then a row per act, every cell a
    string (already neutralised: no cell starts a formula). Write-only: openpyxl keeps the
    sheet's rows in its own temporary file, not in memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("acts")
    sheet.append(list(COLUMNS))
    for row in export.rows():
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula or a number
            cells.append(cell)
        sheet.append(cells)
    book.save(out)


def xlsx_file(export: Export) -> IO[bytes]:
    """The workbook in an anonymous temporary file (deleted when closed), at its start."""
    out = tempfile.TemporaryFile(prefix="jikimi-export-", suffix=".xlsx")
    try:
        write_xlsx(export, out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


def render(export: Export) -> Iterator[bytes]:
    """The file's bytes in chunks (CSV as it is built; XLSX from its temporary file)."""
    if export.format == "xlsx":
        with xlsx_file(export) as out:
            while chunk := out.read(64 * 1024):
                yield chunk
    else:
        yield from render_csv(export)


def response(export: Export) -> StreamingHttpResponse:
    """The download: CSV streamed as it is built, XLSX streamed from its temporary file
    (FileResponse closes, and so deletes, it at the end)."""
    if export.format == "xlsx":
        out: StreamingHttpResponse = FileResponse(xlsx_file(export), content_type=export.media_type)
    else:
        out = StreamingHttpResponse(render_csv(export), content_type=export.media_type)
    out["Content-Disposition"] = content_disposition_header(True, export.file_name)
    out["X-Content-Type-Options"] = "nosniff"
    out["Cache-Control"] = "no-store"
    return out
