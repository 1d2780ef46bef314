"""Typo keys: a name one typing error away shares a key, two errors away or another surname
shares none (jikimi.lib.fuzzy_names)."""

from __future__ import annotations

import pytest

from jikimi.lib import fuzzy_names
from jikimi.lib.fuzzy_names import typo_keys


def close(a: str, b: str) -> bool:
    return bool(typo_keys(a) & typo_keys(b))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Kim Gyeogn-guk", "김경국"),  # two letters swapped
        ("Kim Gyeogn-guk", "Kim Gyeong-guk"),
        ("Kim Suu-sun", "Kim Suk-sun"),  # a letter substituted
        ("Kim Suu-sun", "김숙순"),
        ("Kim Gyong-guk", "김경국"),  # a letter dropped
        ("Kim Gyeongg-guk", "Kim Kyŏng-guk"),  # a letter doubled, another system
        ("Sun-seonn Kim", "김선선"),  # Western order
        ("Park Yeong-nin", "박영진"),
        ("김겅국", "김경국"),  # Hangul, one wrong jamo (ㅕ → ㅓ)
        ("김경구", "김경국"),  # Hangul, a final jamo missing
        ("김경궁", "김경국"),  # Hangul, a final jamo wrong
        ("김경국", "김경국"),
    ],
)
def test_it_finds_a_name_one_typing_error_away(typed, stored):
    assert close(typed, stored)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Kim Hyeong-gak", "김경국"),  # two letters substituted
        ("Kim Hyeong-gak", "Kim Gyeong-guk"),
        ("김형각", "김경국"),  # two jamo wrong
        ("Lee Gyeong-guk", "김경국"),  # another surname
        ("이경국", "김경국"),
        ("Kim Chol", "Kim Chul-su"),  # a short given name gets no deletion variants
    ],
)
def test_it_does_not_find_a_name_two_errors_away_or_of_another_surname(typed, stored):
    assert not close(typed, stored)


def test_it_bounds_the_keys_and_keeps_them_apart_from_the_exact_keys():
    for name in ("김경국", "Kim Gyeong-guk", "Namgoong Sung-hyeon", "황보 세진", "Ri Ji Hyon"):
        keys = typo_keys(name)
        assert 0 < len(keys) <= fuzzy_names.MAX_KEYS
        assert all(k[:2] in ("r:", "a:", "j:") for k in keys)  # exact keys are n:, g:, s:
    long = "Kim " + "Gyeong-guk-" * 6 + "sun"
    assert len(typo_keys(long)) <= fuzzy_names.MAX_KEYS


@pytest.mark.parametrize("text", ["", "   ", None, "Chol", "P-7KQ2-M9XD", "!!!", "Xq Zzzzz"])
def test_it_gives_no_keys_without_a_surname_and_a_given_name(text):
    assert typo_keys(text) == set()


@pytest.mark.parametrize(
    ("typed", "stored", "expected"),
    [
        ("Kim Gyeogn-guk", "김경국", True),
        ("김겅국", "김경국", True),
        ("Kim Suu-sun", "김숙순", True),
        ("Kim Gyeogn-guk", "김경숙", False),  # shares a deletion key, but two edits apart
        ("Kim Gyeogn-gku", "김경국", False),  # two swaps
        ("Lee Gyeong-guk", "김경국", False),
    ],
)
def test_it_confirms_one_typing_error_on_the_names_themselves(typed, stored, expected):
    assert fuzzy_names.one_typo_apart(typed, stored) is expected
    assert fuzzy_names.one_typo_apart(stored, typed) is expected
