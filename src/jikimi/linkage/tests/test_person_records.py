"""One reader of the person-record format: `jikimi import people` and `jikimi link` read the
same rows alike (the importer and the engine parsed birth dates differently)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jikimi.linkage import engine
from jikimi.people import importer

ROWS = [
    {"record_id": "R1", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990-05-01"},
    {"record_id": "R2", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990.5.1"},
    {"record_id": "R3", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990-5"},
    {"record_id": "R4", "source": "a", "name": "Kim Ok-sun", "birth_date": "1990"},
    {"record_id": "R5", "source": "a", "name": "Kim Ok-sun", "birth_date": "1985-13-45"},
    {"record_id": "R6", "source": "a", "name": "Kim Ok-sun", "birth_date": "1985-02-30"},
    {"record_id": "R7", "source": "a", "name": "Kim Ok-sun", "birth_date": "abc"},
    {"record_id": "R8", "source": "a", "name": "Kim Ok-sun", "birth_date": "2099-01-01"},
    {"record_id": "R9", "source": "a", "name": "Kim Ok-sun", "birth_date": "1957/10/12"},
    {"record_id": "R10", "source": "a", "name": "Kim", "sex": "m", "province": "KP-01"},
    {"record_id": "R11", "source": "a", "name": "Kim", "sex": "X", "province": "KP-05"},
    {
        "record_id": "R12",
        "source": "a",
        "name": "Kim",
        "province": "평남",
        "defection_year": "1940",
    },
    {"record_id": "R13", "source": "a", "name": "Kim", "province": "Atlantis"},
]
COLUMNS = ("birth_date", "sex", "province", "defection_year")


@pytest.mark.nodb
def test_the_importer_and_the_engine_read_the_same_rows_alike(tmp_path: Path) -> None:
    header = ["record_id", "source", "name", *COLUMNS]
    path = tmp_path / "people.csv"
    path.write_text(
        "\n".join([",".join(header), *(",".join(r.get(c, "") for c in header) for r in ROWS)]),
        encoding="utf-8",
    )
    records = engine.read_records([path])
    derived = engine.derive_columns(records)
    clean, problems = importer.validate([{c: r.get(c, "") for c in header} for r in ROWS])

    rejected_by_importer = {(p.row, p.column) for p in problems}
    warned_by_engine = {
        (int(w.split("row ")[1].split(":")[0]), w.split("column '")[1].split("'")[0])
        for w in records.warnings
        if "column 'name'" not in w
    }
    assert rejected_by_importer == warned_by_engine
    assert {p.column for p in problems} == {"birth_date", "sex", "province", "defection_year"}
    # What both accept, they read to the same values.
    for (_, line), out in zip(derived.iterrows(), clean, strict=True):
        year = None if pd.isna(line["birth_year"]) else int(line["birth_year"])
        assert out["birth_year"] == year
        assert out["birth_date"] == (
            line["birth_full"] or line["birth_ym"] or (str(year) if year else "")
        )
        assert out["sex"] == (line["sex"] or "")
        assert out["province"] == (line["province_code"] or "")
