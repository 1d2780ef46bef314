"""Properties every estimate must have, on random tables (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import CaptureTable, all_patterns

counts_3 = st.lists(st.integers(min_value=1, max_value=400), min_size=7, max_size=7)


def table_of(counts: list[int], lists=("A", "B", "C")) -> CaptureTable:
    return CaptureTable(tuple(lists), all_patterns(len(lists)), np.array(counts, dtype=np.int64))


@settings(max_examples=40, deadline=None)
@given(counts=counts_3, method=st.sampled_from(["independence", "stepwise", "bic", "bma"]))
def test_it_never_estimates_fewer_people_than_were_seen(counts, method):
    result = estimate_population(table_of(counts), method=method)
    assert result.estimate >= result.observed == sum(counts)
    lo, hi = result.interval
    assert result.observed <= lo <= result.estimate <= hi


@settings(max_examples=25, deadline=None)
@given(counts=counts_3, method=st.sampled_from(["independence", "bic", "bma"]))
def test_it_does_not_depend_on_the_order_of_the_lists(counts, method):
    table = table_of(counts)
    # Reverse the list order: pattern (a, b, c) becomes (c, b, a).
    by_pattern = {tuple(p[::-1]): c for p, c in zip(table.patterns.tolist(), counts, strict=True)}
    reordered = [by_pattern[tuple(p)] for p in all_patterns(3).tolist()]
    first = estimate_population(table, method=method)
    second = estimate_population(table_of(reordered, ("C", "B", "A")), method=method)
    assert abs(first.estimate - second.estimate) <= 1e-6 * first.estimate + 1e-6
