"""Coverage of the 95% intervals when the true total is known (`jikimi.estimates.simulation`).

The two properties the issue asks for, over the same 200 seeded tables per scenario as the
full simulation: >= 90% coverage for independence on independent lists and for model
averaging with two-way dependence. The whole method x scenario table, LCMCR's chains
included (about 30 minutes), is `bench/bench_coverage.py`.
"""

from __future__ import annotations

import pytest

from jikimi.estimates.simulation import RUNS, coverage, simulate_table
from jikimi.estimates.tables import all_patterns


def test_it_builds_a_table_of_every_pattern():
    assert len(simulate_table("independent", 1).patterns) == len(all_patterns(3))


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("scenario", "variant"), [("independent", "independence"), ("two-way", "bma")]
)
def test_it_covers_the_true_total_at_least_90_percent_where_the_model_holds(scenario, variant):
    share = coverage(scenario, variant)
    assert share >= 0.90, f"{variant} on {scenario} lists: {share:.1%} of {RUNS} runs"
