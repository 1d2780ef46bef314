"""`jikimi import people`: all rows or none, every bad row reported (DESIGN §8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from jikimi.people import services
from jikimi.people.models import Person, SourceRecord

DATA = Path(__file__).parent / "data"


def test_it_imports_a_csv(orgs, staff):
    call_command("import", "people", str(DATA / "people.csv"), "--org", "alpha")
    assert Person.objects.filter(organisation=orgs[0]).count() == 3
    tak = services.search_people(staff["caseworker"], "Tak Yunseul")
    assert len(tak) == 1 and tak[0].province == "KP-09"  # 함경북도
    assert services.search_people(staff["caseworker"], "010 2345 6789")[0].code == tak[0].code
    assert SourceRecord.objects.filter(source="family_report", record_id="T002").exists()


def test_it_imports_xlsx(orgs, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["record_id", "source", "name", "birth_date", "sex"])
    ws.append(["X1", "ngo_list", "Kim Ok-sun", "1990-05", "F"])
    ws.append(["X2", "ngo_list", "리철남", 1984, "M"])
    wb.save(tmp_path / "people.xlsx")
    call_command("import", "people", str(tmp_path / "people.xlsx"), "--org", "alpha")
    assert Person.objects.count() == 2


def test_it_writes_nothing_when_one_row_is_bad(orgs, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(
        "record_id,source,name,birth_date,sex,province,defection_year\n"
        "A1,ngo,Kim Ok-sun,1990-05-01,F,함북,2012\n"
        "A2,ngo,Ri Chol,1990-13-01,M,,\n"
        "A1,ngo,,19xx,Q,Atlantis,1900\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as exc:
        call_command("import", "people", str(path), "--org", "alpha")
    assert exc.value.returncode == 2
    err = capsys.readouterr().err
    for expected in (
        "row 3, column birth_date",
        "row 4, column name",
        "row 4, column record_id: duplicate of row 2",
        "row 4, column sex",
        "row 4, column province",
        "row 4, column defection_year",
        "row 4, column birth_date",
    ):
        assert expected in err
    assert Person.objects.count() == 0


@pytest.mark.parametrize(
    "content,message",
    [
        ("source,name\nngo,Kim\n", "missing required column(s) record_id"),
        ("", "the file is empty"),
        ("record_id,source,name,colour\n1,a,b,red\n", "unknown column(s) colour"),
    ],
)
def test_it_rejects_a_bad_file(orgs, tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_text(content)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_command("import", "people", str(path), "--org", "alpha")


def test_it_rejects_a_second_import_of_the_same_records(orgs):
    call_command("import", "people", str(DATA / "people.csv"), "--org", "alpha")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "people", str(DATA / "people.csv"), "--org", "alpha")
    assert Person.objects.count() == 3


def test_it_exits_2_from_the_command_line(orgs, tmp_path, cli):
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,source,name\n1,ngo,\n")
    proc = cli("import", "people", bad, "--org", "alpha")
    assert proc.returncode == 2
    assert f"{bad}: row 2, column name: is empty" in proc.stderr
    proc = cli("import", "people", tmp_path / "nope.csv", "--org", "alpha")
    assert proc.returncode == 2 and "no such file" in proc.stderr
    ok = cli("import", "people", DATA / "people.csv", "--org", "alpha")
    assert ok.returncode == 0 and "imported 3 people" in ok.stdout


def test_an_import_leaves_the_planner_statistics_of_the_people_tables(orgs, monkeypatch):
    """SQLite keeps no statistics until ANALYZE runs: an import analyzes the tables it grew
    (`core.sql.refresh_statistics`; on SQLite those of ANALYZE_MIN_ROWS rows, lowered here);
    PostgreSQL's planner then counts the new rows too."""
    from django.db import connection

    from jikimi.core import sql

    monkeypatch.setattr(sql, "ANALYZE_MIN_ROWS", 1)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is not None:
                cursor.execute("DELETE FROM sqlite_stat1")
    call_command("import", "people", str(DATA / "people.csv"), "--org", "alpha")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT COUNT(DISTINCT tbl) FROM sqlite_stat1 WHERE tbl IN "
                "('people_person', 'people_identity', 'people_identityindex')"
            )
            assert cursor.fetchone()[0] == 3
        else:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'people_person'")
            assert cursor.fetchone()[0] == Person.objects.count() == 3
