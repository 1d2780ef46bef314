"""Reading capture histories: omitted patterns, order, and the error messages."""

from __future__ import annotations

import pytest

from jikimi.estimates.tables import TableInputError, read_capture_csv, read_records_csv

from .reference import mse_dir


def test_it_reads_every_published_table_with_its_printed_total():
    # README: UK 2,744 people; Kosovo 4,400; Madigan & York 626 (3 lists) and 537 (5 lists).
    expected = {
        "sparsemse_UKdat.csv": 2744,
        "lcmcr_kosovo_aggregate.csv": 4400,
        "dga_madigan_york_3list.csv": 626,
        "dga_madigan_york_5list.csv": 537,
    }
    for name, total in expected.items():
        assert read_capture_csv(mse_dir() / name).observed == total


def test_it_fills_omitted_patterns_with_zero(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("A,B,C,count\n1,1,0,4\n1,0,0,6\n")
    table = read_capture_csv(path)
    assert len(table.patterns) == 7 and table.observed == 10
    counts = dict(zip(map(tuple, table.patterns.tolist()), table.counts.tolist(), strict=True))
    assert counts[(0, 0, 1)] == 0


def test_it_names_the_row_and_column_of_a_bad_value(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("A,B,count\n1,0,4\n1,x,2\n")
    with pytest.raises(TableInputError) as err:
        read_capture_csv(path)
    assert err.value.row == 2 and err.value.column == "B" and str(path) in str(err.value)


def test_it_counts_each_person_once_per_list_in_records(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("person_id,list\n1,B\n1,B\n1,A\n2,A\n3,B\n")
    table = read_records_csv(path)
    assert table.lists == ("A", "B") and table.observed == 3
    assert table.pair_overlaps()[(0, 1)] == 1
