"""`jikimi estimate` end to end: exit codes 0/2/3 and the JSON contract of DESIGN §8."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .reference import mse_dir

JSON_KEYS = {"method", "lists", "observed", "estimate", "interval", "level", "model", "warnings"}


@pytest.fixture
def run_estimate(cli):
    """`jikimi estimate …` through the console script's entry point, in this process."""
    return lambda *args: cli("estimate", *args)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_it_prints_the_json_contract_for_uk_six_lists(run_estimate):
    done = run_estimate(str(mse_dir() / "sparsemse_UKdat.csv"), "--method", "stepwise", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == JSON_KEYS
    assert data["method"] == "stepwise"
    assert data["lists"] == ["LA", "NG", "PF", "GO", "GP", "NCA"]
    assert data["observed"] == 2744
    assert data["estimate"] == 11418.0
    assert data["interval"] == [9977.3, 13145.7]
    assert data["level"] == 0.95
    assert "PF:NCA" in data["model"]
    assert isinstance(data["warnings"], list)


def test_it_prints_a_readable_table_by_default(run_estimate):
    done = run_estimate(str(mse_dir() / "sparsemse_UKdat.csv"), "--method", "independence")
    assert done.returncode == 0, done.stderr
    assert "12,214.0" in done.stdout and "95% interval" in done.stdout


def call_estimate(*args: str) -> str:
    """In-process run of the same command (no interpreter start-up) for option coverage."""
    out = io.StringIO()
    call_command("estimate", *args, stdout=out)
    return out.getvalue()


def test_it_honours_level_and_method_for_every_method():
    path = str(mse_dir() / "dga_madigan_york_3list.csv")
    for method in ("independence", "stepwise", "bic", "bma", "lcmcr"):
        args = [path, "--method", method, "--level", "0.9", "--seed", "5", "--json"]
        if method == "lcmcr":
            args += ["--burnin", "1000", "--samples", "500", "--thin", "5"]
        data = json.loads(call_estimate(*args))
        assert set(data) == JSON_KEYS
        assert data["method"] == method and data["level"] == 0.9
        lo, hi = data["interval"]
        assert lo <= data["estimate"] <= hi


def test_it_reports_a_bca_interval_with_bootstrap():
    data = json.loads(
        call_estimate(str(mse_dir() / "sparsemse_Western.csv"), "--bootstrap", "200", "--json")
    )
    assert data["estimate"] == 2483.4 and "BCa" in data["model"]
    assert data["interval"][0] < 2483.4 < data["interval"][1]


def test_it_takes_the_stepwise_rule():
    path = str(mse_dir() / "sparsemse_Ned.csv")
    default = json.loads(call_estimate(path, "--json"))
    by_aic = json.loads(call_estimate(path, "--stepwise-rule", "aic", "--json"))
    assert default["estimate"] == 111139.4  # SparseMSE's rule, the reference value
    assert by_aic["estimate"] == 43584.7 and "lowest AIC" in by_aic["model"]


def test_it_reads_person_list_records(tmp_path, run_estimate):
    rows = ["person_id,list"]
    # 30 on A only, 20 on B only, 10 on both: Lincoln-Petersen gives 40 * 30 / 10 = 120.
    rows += [f"a{i},A" for i in range(30)] + [f"b{i},B" for i in range(20)]
    rows += [f"ab{i},A" for i in range(10)] + [f"ab{i},B" for i in range(10)]
    path = write(tmp_path, "records.csv", "\n".join(rows) + "\n")
    done = run_estimate(path, "--records", "--method", "independence", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["observed"] == 60 and data["lists"] == ["A", "B"]
    assert data["estimate"] == pytest.approx(120.0, abs=0.05)


BAD_TABLES = [
    ("A,B,count\n1,0,5\n0,2,3\n1,1,2\n", "row 2", "'B'"),  # not 0/1
    ("A,B,count\n1,0,5\n0,1,-3\n1,1,2\n", "row 2", "'count'"),  # negative
    ("A,B,count\n1,0,5\n0,1,2.5\n1,1,2\n", "row 2", "'count'"),  # fractional
    ("A,B,count\n1,0,5\n0,0,3\n1,1,2\n", "row 2", "'A'"),  # the all-zero pattern
    ("A,B,count\n1,0,5\n0,1,3\n1,0,2\n", "row 3", "'A'"),  # duplicate pattern
    ("A,count\n1,5\n", "header", "'count'"),  # fewer than two lists
]


def test_it_exits_2_naming_the_file_row_and_column(tmp_path, run_estimate):
    # Through the console script's entry point for one case, the command alone for the rest.
    text, row, column = BAD_TABLES[0]
    path = write(tmp_path, "bad0.csv", text)
    done = run_estimate(path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert path in done.stderr and row in done.stderr and column in done.stderr
    for number, (text, row, column) in enumerate(BAD_TABLES[1:], start=1):
        path = write(tmp_path, f"bad{number}.csv", text)
        with pytest.raises(CommandError) as err:
            call_estimate(path)
        assert err.value.returncode == 2
        message = str(err.value)
        assert path in message and row in message and column in message, message


def test_it_exits_2_on_records_missing_a_column(tmp_path):
    path = write(tmp_path, "records.csv", "person,list\n1,A\n")
    with pytest.raises(CommandError) as err:
        call_estimate(path, "--records")
    assert err.value.returncode == 2 and "'person_id'" in str(err.value)


def test_it_exits_3_when_lists_never_overlap_and_says_which(tmp_path, run_estimate):
    path = write(tmp_path, "apart.csv", "A,B,C,count\n1,0,0,5\n0,1,0,7\n0,0,1,4\n")
    done = run_estimate(path, "--json")
    assert done.returncode == 3, done.stderr
    assert "no finite estimate" in done.stderr and "{A}; {B}; {C}" in done.stderr
    assert done.stdout == ""
