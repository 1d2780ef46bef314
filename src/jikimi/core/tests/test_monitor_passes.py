"""The monitor's pass registry: every pass runs in order; one failing stops no other."""

from __future__ import annotations

import logging

import pytest

from jikimi.core import monitor


@pytest.fixture
def passes(monkeypatch):
    """An empty registry for the test (the apps' real passes are restored afterwards)."""
    monkeypatch.setattr(monitor, "_passes", {})
    return monitor


def test_it_runs_passes_in_order_and_adds_their_counters(passes):
    ran = []
    passes.register_pass("deliver", lambda o: ran.append("deliver") or {"sent": 2}, order=100)
    passes.register_pass("raise", lambda o: ran.append("raise") or {"alerts": 1}, order=10)
    totals = passes.run_passes({"lease_seconds": 5})
    assert ran == ["raise", "deliver"]
    assert totals == {"alerts": 1, "sent": 2}
    assert passes.run_passes(skip=frozenset({"deliver"})) == {"alerts": 1}


def test_an_error_in_one_pass_is_logged_and_the_others_still_run(passes, caplog):
    ran = []

    def broken(options):
        raise RuntimeError("database restarted")

    passes.register_pass("broken", broken, order=1)
    passes.register_pass("after", lambda o: ran.append("after") or {"sent": 1}, order=2)
    with caplog.at_level(logging.ERROR, logger="jikimi.monitor"):
        totals = passes.run_passes()
    assert ran == ["after"] and totals == {"sent": 1}
    assert "monitor pass broken failed" in caplog.text


def test_a_pass_with_a_period_runs_only_when_its_time_has_come(passes):
    ran = []
    passes.register_pass("prune", lambda o: ran.append(1), every_seconds=3600)
    last_run: dict[str, float] = {}
    passes.run_passes(last_run=last_run)
    passes.run_passes(last_run=last_run)
    assert ran == [1]
