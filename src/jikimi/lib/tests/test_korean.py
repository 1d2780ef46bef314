"""Korean names in any script or romanisation reduce to shared ASCII keys (synthetic names)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jikimi.lib import korean
from jikimi.lib.korean import (
    SYSTEMS,
    index_keys,
    normalise_hangul_surname,
    normalise_name,
    province_code,
    romanise_syllables,
    search_keys,
)

pytestmark = pytest.mark.nodb

JIHYUN_SPELLINGS = ["이지현", "Lee Jihyun", "Yi Ji-hyon", "Ri Ji Hyon", "리지현", "Jihyun Lee"]


@pytest.mark.parametrize("spelling", JIHYUN_SPELLINGS)
def test_it_finds_the_same_name_in_any_spelling(spelling: str) -> None:
    assert search_keys("이지현") & search_keys(spelling)


def test_it_keeps_different_surnames_apart() -> None:
    assert not (search_keys("김지현") & search_keys("Lee Jihyun"))
    # the given name alone still finds both, through the stored index keys
    assert "g:cihyeon" in index_keys("김지현") & index_keys("Lee Jihyun") & search_keys("Jihyun")


def test_it_prefixes_full_name_and_given_name_keys() -> None:
    keys = index_keys("Lee Ji-hyun")
    assert any(k.startswith("n:") for k in keys)
    assert any(k.startswith("g:") for k in keys)
    assert all(k.startswith("n:") for k in search_keys("Lee Ji-hyun"))
    for query in ("Jihyun", "Ji-hyon", "지현", "Ji Hyon"):
        assert search_keys(query) & index_keys("이지현"), query
    assert search_keys("search_keys") <= index_keys("search_keys")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("한서연", "Han Seo-yeon"),
        ("한서연", "Han Sŏ-yŏn"),
        ("한서연", "Han So Yon"),
        ("한서연", "Han Seoyeon"),
        ("최광일", "Choe Kwang-il"),
        ("최광일", "Kwang-il Choi"),
        ("최광일", "Ch'oe Kwang-il"),
        ("이명희", "Ri Myong Hui"),
        ("리명희", "Lee Myeonghui"),
        ("이명희", "Lee Myung-hee"),
        ("김정은", "Kim Jong Un"),
        ("김정은", "Kim Jong-un"),
        ("김정은", "Kim Jongun"),
        ("김정은", "Jong-un Kim"),
        ("박지성", "Park Ji-sung"),
        ("박지성", "Pak Chi-song"),
        ("박지성", "Bak Jiseong"),
        ("정민호", "Chung Min-ho"),
        ("정민호", "Jeong Minho"),
        ("정민호", "Chong Min Ho"),
        ("류현우", "Ryu Hyon U"),
        ("류현우", "Yoo Hyun-woo"),
        ("임수진", "Rim Su Jin"),
        ("임수진", "Lim Soo-jin"),
        ("노은정", "Ro Un Jong"),
        ("노은정", "Roh Eun-jung"),
        ("양철", "Ryang Chol"),
        ("양철", "Yang Cheol"),
    ],
)
def test_it_matches_known_romanisations(a: str, b: str) -> None:
    assert search_keys(a) & search_keys(b), (search_keys(a), search_keys(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("김지현", "박지현"),
        ("이지현", "이지훈"),
        ("한서연", "한소연"),
        ("Kim Jong Un", "Kim Jong Nam"),
    ],
)
def test_it_keeps_different_names_apart(a: str, b: str) -> None:
    assert not ({k for k in search_keys(a) if k.startswith("n:")} & search_keys(b))


def test_it_normalises_the_norths_initial_rieul() -> None:
    for north, south in [("리", "이"), ("림", "임"), ("류", "유"), ("로", "노"), ("량", "양")]:
        assert normalise_hangul_surname(north) == south
        assert normalise_name(north + "철수").hangul == south + "철수"
        assert normalise_name(north + "철수").jamo == normalise_name(south + "철수").jamo


def test_it_groups_surname_spellings() -> None:
    groups = {
        "i": ["Lee", "Yi", "Rhee", "Ri", "I", "Rey", "이", "리"],
        "pak": ["Park", "Pak", "Bak", "박"],
        "cwe": ["Choi", "Choe", "최"],
        "kim": ["Kim", "Gim", "김"],
        "cong": ["Jeong", "Jung", "Chung", "Chong", "Cheong", "정"],
        "yo": ["Ryu", "Yu", "Yoo", "Rhyu", "류", "유"],
        "im": ["Rim", "Lim", "Im", "림", "임"],
        "no": ["Ro", "Roh", "No", "Noh", "로", "노"],
        "yang": ["Ryang", "Yang", "량", "양"],
    }
    for group, spellings in groups.items():
        for spelling in spellings:
            parts = normalise_name(
                f"{spelling} Chol-su" if spelling.isascii() else spelling + "철수"
            )
            assert parts.surname_group == group, (spelling, parts)


def test_a_romanised_surname_maps_to_a_set_of_hangul_surnames() -> None:
    assert {"송", "성"} <= normalise_name("Song Min-ho").surname_hangul
    assert normalise_name("Ri Chol").surname_hangul == {"이"}


def test_given_names_joined_hyphenated_or_spaced_agree() -> None:
    a, b, c = (normalise_name(n) for n in ("Kim Jong Un", "Kim Jong-un", "Kim Jongun"))
    assert a.given_key == b.given_key == c.given_key == "congon"
    assert a.given_syllables == b.given_syllables == ("cong", "un")


def test_derived_columns_are_ascii() -> None:
    for name in [*JIHYUN_SPELLINGS, "Hamgyŏng Sŏ-yŏn", "毛泽东", "", "  ", "O'Brien"]:
        parts = normalise_name(name)
        for value in (parts.surname_group, parts.given_key, parts.jamo, *parts.given_keys):
            assert value.isascii()


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("함경북도", "KP-09"),
        ("함북", "KP-09"),
        ("North Hamgyong", "KP-09"),
        ("Hamgyong-bukto", "KP-09"),
        ("Hamkyŏng-pukto", "KP-09"),
        ("Hamgyeongbuk-do", "KP-09"),
        ("함경남도", "KP-08"),
        ("South Hamgyong", "KP-08"),
        ("양강도", "KP-10"),
        ("량강도", "KP-10"),
        ("Ryanggang", "KP-10"),
        ("Yanggang-do", "KP-10"),
        ("평양", "KP-01"),
        ("P'yŏngyang", "KP-01"),
        ("평안남도", "KP-02"),
        ("South Pyongan", "KP-02"),
        ("North Pyongan", "KP-03"),
        ("Pyeonganbuk-do", "KP-03"),
        ("자강도", "KP-04"),
        ("Jagang", "KP-04"),
        ("황해남도", "KP-05"),
        ("North Hwanghae", "KP-06"),
        ("Kangwon", "KP-07"),
        ("Rason", "KP-13"),
        ("나선", "KP-13"),
        ("Nampo", "KP-14"),
        ("Kaesong", "KP-15"),
        ("", None),
        ("Seoul", None),
        ("Hamgyong", None),
    ],
)
def test_it_codes_provinces_from_any_spelling(spelling: str, code: str | None) -> None:
    assert province_code(spelling) == code


# --- properties ------------------------------------------------------------------------------

SURNAMES = list("김이박최정강조윤장임한오서신권황안송전홍유고문양손배백허노남심하곽성차주우구민")
SURNAMES += ["리", "림", "류", "로", "량"]
# Syllables common in given names.
GIVEN = list("지현서연민준영수진희정은혜성철광일명호우남선미경숙옥순동욱재훈태석상용기철설")


@st.composite
def korean_names(draw: st.DrawFn) -> tuple[str, str]:
    surname = draw(st.sampled_from(SURNAMES))
    given = "".join(draw(st.lists(st.sampled_from(GIVEN), min_size=1, max_size=2)))
    return surname, given


def _render(surname: str, given: str, system: str, style: int) -> str:
    family = romanise_syllables(surname, system)[0].capitalize()
    syllables = romanise_syllables(given, system)
    if style == 0:
        given_text = "-".join(syllables).capitalize()
    elif style == 1:
        given_text = " ".join(s.capitalize() for s in syllables)
    else:
        given_text = "".join(syllables).capitalize()
    return f"{family} {given_text}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(korean_names(), st.sampled_from(SYSTEMS), st.integers(0, 2), st.booleans())
def test_every_romanisation_shares_a_key_with_the_hangul(
    name: tuple[str, str], system: str, style: int, swapped: bool
) -> None:
    surname, given_name = name
    text = _render(surname, given_name, system, style)
    if swapped:
        family, _, rest = text.partition(" ")
        text = f"{rest} {family}"
    assert search_keys(surname + given_name) & search_keys(text), text
    assert index_keys(surname + given_name) & search_keys(given_name), given_name


@settings(max_examples=300, deadline=None)
@given(korean_names(), st.sampled_from(SYSTEMS))
def test_full_name_keys_match_in_surname_first_order(name: tuple[str, str], system: str) -> None:
    surname, given_name = name
    text = _render(surname, given_name, system, 0)
    assert search_keys(surname + given_name) & search_keys(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_gives_ascii_keys_without_error(text: str) -> None:
    for key in search_keys(text):
        assert key.isascii()
    province_code(text)


@settings(max_examples=200, deadline=None)
@given(korean_names(), korean_names())
def test_different_hangul_names_share_no_full_name_key(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    parts_a, parts_b = normalise_name("".join(a)), normalise_name("".join(b))
    shared = {k for k in search_keys("".join(a)) & search_keys("".join(b)) if k.startswith("n:")}
    same_sound = (parts_a.surname_keys, parts_a.given_keys) == (
        parts_b.surname_keys,
        parts_b.given_keys,
    )
    assert bool(shared) == same_sound


def test_the_typo_fold_reads_scanned_letters_back() -> None:
    """OCR's rn (m), cl (d), ii (u), c (o, e), capital I within a word (l) and l after a
    consonant (i) are read back; Korean romanisations never have them, so real names keep
    their fold."""
    assert korean.typo_keys("Kim Rim Sirn").fold == korean.typo_keys("Kim Rim Sim").fold
    assert korean.typo_keys("Pak Sun-clok").fold == korean.typo_keys("Pak Sun-dok").fold
    assert korean.typo_keys("Choe Scn").fold == korean.typo_keys("Choe Son").fold
    assert korean.typo_keys("Kim CheoI-su").fold == korean.typo_keys("Kim Cheol-su").fold
    assert korean.typo_keys("Ha Ok Ml").fold == korean.typo_keys("Ha Ok Mi").fold
    assert korean.typo_keys("Rim Min Giik").fold == korean.typo_keys("Rim Min Guk").fold
    # Written in capitals, or with a real ch, l or I, nothing changes.
    assert korean.typo_keys("KIM IL SUNG").fold == korean.typo_keys("Kim Il Sung").fold
    assert korean.typo_keys("Pak Ch'ol-ho").fold == "corho"
    assert korean.typo_keys("Ri Ul-lim").fold == "orim"


def test_typo_keys_tell_a_misspelt_surname_from_a_known_one() -> None:
    hwnag, hwang = korean.typo_keys("Hwnag Ŭn-ji"), korean.typo_keys("황은지")
    assert (hwnag.surname, hwnag.surname_known) == ("hwnak", False)
    assert (hwang.surname, hwang.surname_known) == ("hwank", True)
    assert hwnag.fold == hwang.fold == "onci"


def _readings(parts: korean.NameParts) -> list[tuple[frozenset[str], frozenset[str]]]:
    """Every (surname codes, given codes) reading a parse offers, the preferred one first."""
    return [(parts.surname_keys, parts.given_keys), *parts.alternatives]


def _offers(romanised: str, hangul: str) -> bool:
    """Whether some reading of `romanised` has the surname and given name of `hangul`."""
    target = normalise_name(hangul)
    return any(
        surnames & target.surname_keys and givens & target.given_keys
        for surnames, givens in _readings(normalise_name(romanised))
    )


def test_ui_is_a_given_syllable_never_the_surname() -> None:
    # ㅢ shares ㅣ's fine code, so "Ui" once read as 이 and took the surname from 차.
    parts = normalise_name("Cha Sun Ui")
    assert parts.surname_group == normalise_name("차순의").surname_group
    assert parts.given_keys & normalise_name("차순의").given_keys
    assert not korean.surname_hangul("Ui")
    assert korean.surname_hangul("Wi") == {"위"}


@pytest.mark.parametrize(
    ("romanised", "hangul"),
    [
        ("Cha Sun Jong", "차순정"),  # 정 is far commoner than 차, but the first comes first
        ("Pyo Hak Kim", "표학김"),  # 표 is rare, 김 the commonest surname
    ],
)
def test_three_token_names_keep_the_surname_first_reading(romanised: str, hangul: str) -> None:
    assert _offers(romanised, hangul)


@pytest.mark.parametrize(
    ("romanised", "hangul"), [("Kimm Nam Tae", "김남태"), ("Pakr Song Nam", "박송남")]
)
def test_a_misspelt_surname_first_still_leaves_the_given_name(romanised: str, hangul: str) -> None:
    # The surname itself is compared letter by letter (`typo_keys`); the given name must be
    # among the readings, not swallowed with the surname by the known one at the end.
    given = normalise_name(hangul).given_keys
    assert any(givens & given for _, givens in _readings(normalise_name(romanised)))


def test_given_name_first_readings_are_still_offered() -> None:
    assert _offers("Myong Su Son", "손명수")
    assert _offers("Jihyun Lee", "이지현")
    # "Kim Jong Un" still has no reading with 은 as the surname.
    assert all(
        "eun" not in s and "un" not in s for s, _ in _readings(normalise_name("Kim Jong Un"))
    )
