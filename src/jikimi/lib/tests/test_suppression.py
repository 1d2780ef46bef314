"""Small-cell suppression, pure: no database, no Django."""

from __future__ import annotations

import pytest

from jikimi.lib.suppression import SUPPRESS_BELOW, is_small, shown_size, suppressed

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    ("count", "published"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (123, "123")]
)
def test_it_publishes_one_to_four_as_less_than_five(count, published):
    assert suppressed(count) == published


def test_it_takes_another_threshold():
    assert suppressed(9, below=10) == "<10"
    assert suppressed(10, below=10) == "10"


@pytest.mark.parametrize(("count", "small"), [(0, False), (1, True), (4, True), (5, False)])
def test_it_says_which_counts_are_small(count, small):
    assert is_small(count) is small


@pytest.mark.parametrize(("count", "size"), [(0, 0), (1, 5), (4, 5), (5, 5), (7, 7)])
def test_a_chart_draws_a_small_count_no_smaller_than_the_threshold(count, size):
    assert shown_size(count) == size


def test_the_threshold_is_five():
    assert SUPPRESS_BELOW == 5
