"""Typo keys: a query finds a name one typing error away, not one two errors away or of
another surname (jikimi.lib.fuzzy_names)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jikimi.lib import fuzzy_names, korean
from jikimi.lib.fuzzy_names import given_forms, typo_keys, typo_query_keys


def close(a: str, b: str) -> bool:
    """`a` searched finds `b` stored, and the other way round (the relation is symmetric)."""
    found = bool(typo_query_keys(a) & typo_keys(b))
    assert found == bool(typo_query_keys(b) & typo_keys(a)), (a, b)
    return found


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
        ("Kim Chol", "Kim Chul-su"),  # two letters apart
        ("Kim Cho", "Kim Chi"),  # one letter apart, but both under four letters
        ("Kim Gyeogn-guk", "김경숙"),  # a deletion from each would meet: two edits apart
    ],
)
def test_it_does_not_find_a_name_two_errors_away_or_of_another_surname(typed, stored):
    assert not close(typed, stored)


def test_it_bounds_the_keys_and_keeps_them_apart_from_the_exact_keys():
    for name in ("김경국", "Kim Gyeong-guk", "Namgoong Sung-hyeon", "황보 세진", "Ri Ji Hyon"):
        keys = typo_keys(name)
        assert 0 < len(keys) <= fuzzy_names.MAX_KEYS
        assert all(k[:2] in ("r:", "a:", "j:") for k in keys)  # exact keys are n:, g:, s:
        assert keys <= typo_query_keys(name)
        assert all(k[:2] in ("r:", "a:", "j:") for k in typo_query_keys(name))
    long = "Kim " + "Gyeong-guk-" * 6 + "sun"
    assert len(typo_keys(long)) <= fuzzy_names.MAX_KEYS
    # A form longer than MAX_FORM is looked up as it is: one key a form.
    assert typo_query_keys(long) == typo_keys(long)


def test_a_stored_name_is_indexed_under_its_forms_only():
    """The index holds a few keys a name, not the one-deletion variants of each form (which
    showed in the database which names are near each other): 김경국's jamo form and its
    folded and written letters in each romanisation system."""
    keys = typo_keys("김경국")
    forms = {
        f"{kind}:{group}:{form}" for group, fs in given_forms("김경국").items() for kind, form in fs
    }
    assert keys == forms
    assert any(k.endswith(":kyonkkok") for k in keys)  # folded "gyeongguk"
    assert not any(k.endswith((":yonkkok", ":kyonkok")) for k in keys)  # no deletion variant


_HANGUL = st.builds(
    lambda surname, given: surname + "".join(given),
    st.sampled_from(["김", "이", "박", "최", "황보"]),
    st.lists(st.sampled_from(list("경국숙순영진선미철수지현")), min_size=1, max_size=3),
)


@st.composite
def _spelled(draw: st.DrawFn) -> str:
    """A Hangul name, or one of its romanisations with up to one letter of the given name
    deleted, inserted, substituted or swapped with the next."""
    name = draw(_HANGUL)
    if draw(st.booleans()):
        return name
    surname, given = (name[:2], name[2:]) if name.startswith("황보") else (name[:1], name[1:])
    system = draw(st.sampled_from(korean.SYSTEMS))
    letters = "".join(korean.romanise_syllables(given, system))
    sur = "".join(korean.romanise_syllables(surname, system)).capitalize()
    i = draw(st.integers(0, len(letters) - 1))
    c = draw(st.sampled_from(string.ascii_lowercase))
    letters = draw(
        st.sampled_from(
            [
                letters,
                letters[:i] + letters[i + 1 :],
                letters[:i] + c + letters[i:],
                letters[:i] + c + letters[i + 1 :],
                letters[:i] + letters[i + 1 : i + 2] + letters[i] + letters[i + 2 :],
            ]
        )
    )
    return f"{sur} {letters.capitalize()}"


def _one_edit_apart(query: str, stored: str) -> bool:
    """What the keys promise, the slow way: some forms of the two names of the same kind and
    surname group are equal, or one edit apart with the longer of at least the kind's
    minimum (the query's form no longer than MAX_FORM)."""
    for group, forms in given_forms(query).items():
        for kind, form in forms:
            minimum = fuzzy_names.MIN_JAMO if kind == "j" else fuzzy_names.MIN_LETTERS
            for other_kind, other in given_forms(stored).get(group, ()):
                if other_kind != kind:
                    continue
                if form == other or (
                    len(form) <= fuzzy_names.MAX_FORM
                    and max(len(form), len(other)) >= minimum
                    and fuzzy_names._within_one_edit(form, other)
                ):
                    return True
    return False


@settings(max_examples=400, deadline=None)
@given(_spelled(), _spelled())
def test_the_query_keys_find_exactly_the_names_one_edit_away(query, stored):
    assert bool(typo_query_keys(query) & typo_keys(stored)) == _one_edit_apart(query, stored)


@settings(max_examples=200, deadline=None)
@given(_HANGUL, st.data())
def test_a_name_with_one_jamo_changed_is_found(stored, data):
    """A Hangul query with one syllable's vowel or final jamo replaced (김겅국, 김경궁)."""
    start = 2 if stored.startswith("황보") else 1
    i = data.draw(st.integers(start, len(stored) - 1))
    code = ord(stored[i]) - 0xAC00
    vowel, final = (code % 588) // 28, code % 28
    if data.draw(st.booleans()):
        code += (data.draw(st.integers(0, 20).filter(lambda v: v != vowel)) - vowel) * 28
    else:
        code += data.draw(st.integers(0, 27).filter(lambda f: f != final)) - final
    query = stored[:i] + chr(0xAC00 + code) + stored[i + 1 :]
    expected = len(fuzzy_names._jamo(stored[start:])) >= fuzzy_names.MIN_JAMO or (
        len(fuzzy_names._jamo(query[start:])) >= fuzzy_names.MIN_JAMO
    )
    if expected:
        assert typo_query_keys(query) & typo_keys(stored), (query, stored)


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
