"""`jikimi estimate --incidents --org SLUG [--by act-type|determination]`: the estimates
page's incident lists from the command line, on the constructed set of acts of the page's
tests (incidents.tests.test_return_estimates' `world`), against Lincoln–Petersen by hand."""

from __future__ import annotations

import json

import pytest

from jikimi.audit.models import AuditEvent
from jikimi.incidents.tests.test_return_estimates import _lincoln_petersen, world  # noqa: F401

pytestmark = pytest.mark.django_db

TWO = ("--lists", "case_file,ngo_list", "--method", "independence")


def _strata(data: dict) -> dict:
    return {s["stratum"]: s for s in data["strata"]}


def test_by_determination_json_against_hand_computed_lincoln_petersen(cli, world):  # noqa: F811
    run = cli("estimate", "--incidents", "--org", "alpha", "--by", "determination", *TWO, "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    # The Estimate JSON contract (DESIGN §8), plus the strata.
    assert {
        "method",
        "lists",
        "observed",
        "estimate",
        "interval",
        "level",
        "model",
        "warnings",
    } <= set(data)
    assert data["method"] == "independence" and data["stratify_by"] == "determination"
    assert data["lists"] == ["incidents:case_file", "incidents:ngo_list"]
    assert data["observed"] == 45 + 28 + 13 + 5  # return acts of alpha only
    # The JSON gives estimates to one decimal.
    assert data["estimate"] == pytest.approx(
        _lincoln_petersen(20 + 12 + 7 + 2, 15 + 8 + 6 + 2, 10 + 8 + 0 + 1), abs=0.05
    )
    strata = _strata(data)
    assert strata["abduction"]["estimate"] == pytest.approx(
        _lincoln_petersen(20, 15, 10), abs=0.05
    )  # 75
    assert strata["abduction"]["observed"] == 45
    lo, hi = strata["abduction"]["interval"]
    assert 45 <= lo <= 75 <= hi
    assert strata["voluntary"]["estimate"] == pytest.approx(
        _lincoln_petersen(12, 8, 8), abs=0.05
    )  # 40
    assert strata["forced_repatriation"]["estimate"] is None  # no overlap
    assert strata["lure"]["estimate"] is None and "too few" in strata["lure"]["reason"]
    assert AuditEvent.objects.filter(action="estimate.run", actor_id=None).count() == 1


def test_by_act_type_as_text(cli, world):  # noqa: F811
    run = cli("estimate", "--incidents", "--org", "alpha", "--by", "act-type", *TWO)
    assert run.returncode == 0, run.stderr
    assert "By act type:" in run.stdout
    assert "  abduction: 75.0 [" in run.stdout
    assert "  claimed_voluntary_return: 40.0 [" in run.stdout
    assert "  forced_repatriation: no estimate" in run.stdout
    assert "Method" in run.stdout and "independence" in run.stdout


def test_default_lists_are_every_source_kind_of_the_return_acts(cli, world):  # noqa: F811
    run = cli("estimate", "--incidents", "--org", "alpha", "--method", "independence", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["lists"] == ["incidents:case_file", "incidents:ngo_list"]
    assert data["stratify_by"] is None and data["strata"] == []


def test_bad_input_exits_2_and_no_finite_estimate_exits_3(cli, world, orgs):  # noqa: F811
    unknown = cli("estimate", "--incidents", "--org", "nowhere")
    assert unknown.returncode == 2 and "no organisation 'nowhere'" in unknown.stderr
    no_org = cli("estimate", "--incidents")
    assert no_org.returncode == 2 and "--org" in no_org.stderr
    bad_list = cli("estimate", "--incidents", "--org", "alpha", "--lists", "case_file,nk_media")
    assert bad_list.returncode == 2 and "unknown list" in bad_list.stderr
    both = cli("estimate", "x.csv", "--incidents", "--org", "alpha")
    assert both.returncode == 2
    stray = cli("estimate", "x.csv", "--org", "alpha")
    assert stray.returncode == 2 and "only with --incidents" in stray.stderr
    nothing = cli("estimate")
    assert nothing.returncode == 2 and "PATH" in nothing.stderr
    # Beta's 30 returnees are all on both lists: nobody on one list only, no finite
    # estimate: exit 3 saying why (and alpha's acts never counted for beta, nor beta's here).
    beta = cli("estimate", "--incidents", "--org", "beta", *TWO, "--json")
    assert beta.returncode == 3 and "no finite estimate" in beta.stderr
    # An organisation with no return acts: fewer than two lists, exit 2 saying so.
    from jikimi.accounts.services import ensure_organisation

    ensure_organisation("gamma", "Gamma")
    empty = cli("estimate", "--incidents", "--org", "gamma")
    assert empty.returncode == 2 and "at least two lists" in empty.stderr


def test_the_console_script_reads_the_database_on_its_fast_path(tmp_path):
    """The real `jikimi` process: the file estimate's path runs without Django, and hands
    --incidents over to a command that sets Django up and reads the install's database."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = str(Path(sys.executable).with_name("jikimi"))
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("JIKIMI_KEYS", "DATABASE_URL")}
    env.update(JIKIMI_HOME=str(home), JIKIMI_TESTING="1")

    def jikimi(*args):
        return subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=300)

    assert jikimi("init", "--org", "alpha").returncode == 0
    empty = jikimi("estimate", "--incidents", "--org", "alpha")
    assert empty.returncode == 2 and "at least two lists" in empty.stderr, empty.stderr
    unknown = jikimi("estimate", "--incidents", "--org", "nowhere")
    assert unknown.returncode == 2 and "no organisation 'nowhere'" in unknown.stderr
