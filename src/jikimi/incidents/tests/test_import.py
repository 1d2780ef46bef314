"""`jikimi import incidents`: the sample file, XLSX, and broken copies (nothing written)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from jikimi.audit.models import AuditEvent
from jikimi.incidents.models import Act, Event, Information, Involvement
from jikimi.people.models import Person

pytestmark = pytest.mark.django_db

SAMPLE = Path("/work/shared/data/incidents-sample.csv")
if not SAMPLE.exists():  # a copy kept with the tests, for checkouts without /work/shared
    SAMPLE = Path(__file__).parent / "data" / "incidents-sample.csv"


def _rows() -> list[dict[str, str]]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _nothing_written():
    assert not Event.objects.exists() and not Act.objects.exists()
    assert not Person.objects.exists()


def test_the_sample_imports_as_twelve_events_of_fifteen_acts(cli, orgs, tmp_path):
    path = shutil.copy(SAMPLE, tmp_path / "incidents.csv")
    done = cli("import", "incidents", path, "--org", "alpha")
    assert done.returncode == 0, done.stderr
    assert "imported 15 acts into alpha" in done.stdout
    assert Event.objects.filter(organisation=orgs[0]).count() == 12
    assert Act.objects.count() == 15
    # V001..V011: rows naming one victim id are one person.
    assert Person.objects.filter(organisation=orgs[0]).count() == 11
    e005 = Event.objects.get(external_id="E-005")
    assert e005.place.code == "cn-tumen" and e005.date_text == "2017-07-15/2017-07-16"
    assert {a.place.code for a in e005.acts.all()} == {"cn-tumen"}  # Tumen and 图们
    e002 = Event.objects.get(external_id="E-002")
    assert e002.date_approx and e002.date_precision == "month"
    han = Act.objects.get(event=e005, victim_record_id="V005").victim
    assert Act.objects.filter(victim=han).count() == 2  # arrested, then repatriated
    assert han.display_name == "한경애" and han.province == "KP-09"
    e010 = Event.objects.get(external_id="E-010")
    assert not Involvement.objects.filter(event=e010).exists()  # no perpetrator in the row
    grades = Information.objects.get(act__event=e005, act__victim_record_id="V006")
    assert (grades.source.kind.code, grades.reliability, grades.credibility) == (
        "family_report",
        "A",
        "2",
    )
    assert AuditEvent.objects.filter(action="import.incidents").get().detail["events"] == 12
    # Again: every event was already imported, nothing doubles.
    again = cli("import", "incidents", path, "--org", "alpha")
    assert again.returncode == 2 and "'E-001' was already imported" in again.stderr
    assert Act.objects.count() == 15


def test_an_xlsx_copy_imports_the_same(cli, orgs, tmp_path):
    from openpyxl import Workbook

    rows = _rows()
    book = Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    book.save(tmp_path / "incidents.xlsx")
    done = cli("import", "incidents", tmp_path / "incidents.xlsx", "--org", "alpha")
    assert done.returncode == 0, done.stderr
    assert Event.objects.count() == 12 and Act.objects.count() == 15


@pytest.mark.parametrize(
    ("row", "column", "value", "reason"),
    [
        (3, "date", "2017-13", "month 13 is not between 1 and 12"),
        (7, "date", "2017-07-16/2017-07-15", "the range ends (2017-07-15) before it starts"),
        (4, "source_reliability", "G", "G is not a grade A–F"),
        (5, "information_credibility", "9", "9 is not a grade 1–6"),
        (6, "place", "Yanjji", "unknown place 'Yanjji'; the nearest known places: Yanji"),
        (8, "act_type", "abducton", "unknown term 'abducton'; the nearest known terms: abduction"),
        (9, "perpetrator", "kgb", "unknown term 'kgb'"),
        (10, "involvement", "watched", "unknown term 'watched'"),
        (11, "victim_birth_date", "1970-02-30", "day 30 does not exist in 1970-02"),
        (12, "victim_province", "Atlantis", "'Atlantis' is not a province"),
        (13, "victim_sex", "X", "'X' is not M or F"),
        (14, "place", "99,200", "'99,200' is not a latitude,longitude pair"),
        (2, "event_id", "", "is empty (required)"),
    ],
)
def test_a_broken_copy_names_the_row_and_column_and_writes_nothing(
    cli, orgs, tmp_path, row, column, value, reason
):
    rows = _rows()
    rows[row - 2][column] = value
    path = _write(tmp_path / "broken.csv", rows)
    done = cli("import", "incidents", path, "--org", "alpha")
    assert done.returncode == 2
    assert f"{path}: row {row}, column {column}: {reason}" in done.stderr, done.stderr
    assert "nothing was imported" in done.stderr
    _nothing_written()


def test_every_bad_row_is_reported(cli, orgs, tmp_path):
    rows = _rows()
    rows[0]["date"] = "2017-13"  # the first row of E-001: the event's date and its act's
    rows[1]["source_reliability"] = "G"
    rows[14]["act_type"] = "nothing"
    path = _write(tmp_path / "broken.csv", rows)
    done = cli("import", "incidents", path, "--org", "alpha")
    assert done.returncode == 2
    problems = [line for line in done.stderr.splitlines() if ", column " in line]
    assert [p.split(": ", 1)[1].split(":")[0] for p in problems] == [
        "row 2, column date",
        "row 3, column source_reliability",
        "row 16, column act_type",
    ]
    _nothing_written()


def test_labels_and_coordinates_are_accepted(cli, orgs, tmp_path):
    rows = _rows()[:1]
    from jikimi.lib import gazetteer

    rows[0].update(perpetrator="State Security Department", place="41.40,128.18")
    label = next(t for t in gazetteer.terms("act_type") if t.code == "arrest")
    rows[0]["act_type"] = label.ko
    path = _write(tmp_path / "labels.csv", rows)
    done = cli("import", "incidents", path, "--org", "alpha")
    assert done.returncode == 0, done.stderr
    act = Act.objects.get()
    assert act.act_type.code == "arrest" and act.place is None
    assert (act.lat, act.lon) == (41.40, 128.18)
    assert Involvement.objects.get().perpetrator.code == "state_security_department"


def test_a_missing_column_is_a_file_error(cli, orgs, tmp_path):
    rows = [{k: v for k, v in r.items() if k != "act_type"} for r in _rows()]
    path = _write(tmp_path / "cols.csv", rows)
    done = cli("import", "incidents", path, "--org", "alpha")
    assert done.returncode == 2 and "missing required column(s) act_type" in done.stderr
    _nothing_written()


def test_a_victim_id_of_an_earlier_import_is_the_same_person(cli, orgs, tmp_path):
    rows = _rows()
    first = _write(tmp_path / "first.csv", rows[:1])
    assert cli("import", "incidents", first, "--org", "alpha").returncode == 0
    later = dict(rows[0], event_id="E-100", act_type="disappearance", date="2019")
    second = _write(tmp_path / "second.csv", [later])
    assert cli("import", "incidents", second, "--org", "alpha").returncode == 0
    assert Person.objects.count() == 1
    assert Act.objects.filter(victim_record_id="V001").values("victim").distinct().count() == 1
