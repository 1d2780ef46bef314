"""Typing errors in romanised names (issue #13): typo-tolerant keys in `korean`, the given
name's levels and blocking in the engine, and F1 on the independent generator
(`fieldlists`) above a measured floor."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from jikimi.lib import korean
from jikimi.lib import records as person_record
from jikimi.linkage import engine, fieldlists, scoring, spec
from jikimi.linkage.services import link_records

pytestmark = pytest.mark.nodb

# The missed pairs: a typo'd spelling and the name it stands for.
TYPO_PAIRS = [
    ("Kim Gyeogn-guk", "김경국"),
    ("Kim Suu-sun", "김숙순"),
    ("Pak Ilomi", "Pak Il Mi"),
    ("So Soeg Song", "Seo Seong-seong"),
    ("Sun-seonn Kim", "김순선"),
    ("Yeong-nin Park", "Park Yeongjin"),
]
GOOD_LEVELS = {"keys_intersect", "exact", "lev1", "lev2"}


def _features(name: str, birth: str = "", sex: str = "", province: str = "") -> object:
    parsed = person_record.read_birth_date(birth) if birth else None
    person = SimpleNamespace(
        birth_year=parsed.year if parsed else None,
        sex=sex,
        province=province,
        defection_year=None,
    )
    return scoring.features_of(person, [name], [birth] if birth else [], alias_prone=frozenset())


@pytest.mark.parametrize(("typed", "meant"), TYPO_PAIRS)
def test_a_typod_given_name_is_still_near_its_partner(typed: str, meant: str) -> None:
    left, right = korean.typo_keys(typed), korean.typo_keys(meant)
    assert spec.levenshtein(left.fold, right.fold, 2) <= 2, (left, right)
    levels = scoring.score_pair(_features(typed), _features(meant)).levels  # type: ignore[arg-type]
    assert levels["given_name"] in GOOD_LEVELS
    assert levels["surname"] in {"keys_intersect", "exact", "lev1"}


def test_the_old_keys_lost_these_pairs() -> None:
    """Without the folded letters two of the pairs were two or more letters apart on the
    coarse key, or worse (the reason for the new keys)."""
    far = 0
    for typed, meant in TYPO_PAIRS:
        a, b = engine._name_columns(typed, ""), engine._name_columns(meant, "")
        if spec.levenshtein(a["given_key"], b["given_key"], 1) > 1:
            far += 1
    assert far >= 2


def test_two_different_hangul_given_names_are_never_the_same() -> None:
    """백국설 and 백국솔 share the coarse key (ㅓ/ㅗ merge), but Hangul is exact."""
    levels = scoring.score_pair(_features("백국설"), _features("백국솔")).levels  # type: ignore[arg-type]
    assert levels["given_name"] not in {"keys_intersect", "exact"}
    # The same name in romanisation still is.
    levels = scoring.score_pair(_features("백국설"), _features("Baek Guk-seol")).levels  # type: ignore[arg-type]
    assert levels["given_name"] in {"keys_intersect", "exact"}


def test_two_hangul_given_names_are_not_one_name_in_two_spellings() -> None:
    """철영 and 철용 are both "Chol Yong" in the North's spelling: a record with the Hangul
    and the spelling shares a reading with the other's Hangul, but the two Hangul names
    differ, so the given names are near ("One letter apart"), not "Same name in another
    spelling"; without Hangul on one side the spelling still is."""
    comparison = next(c for c in spec.COMPARISONS if c.name == "given_name")
    one = engine._name_columns("Kim Chol Yong", "김철영")
    other = engine._name_columns("Gim Cheol-yong", "김철용")
    assert set(one["given_keys"]) & set(other["given_keys"])  # a reading in common
    assert comparison.level_of(one, other) == "lev1"
    spelt = engine._name_columns("Kim Chol Yong", "")
    assert comparison.level_of(spelt, other) == "keys_intersect"
    assert comparison.level_of(one, engine._name_columns("Kim Chol-yong", "김철영")) in {
        "keys_intersect",
        "exact",
    }


@pytest.mark.parametrize(
    ("spelt", "surname"),
    [("Hahn", "한"), ("Whang", "황"), ("Sohn", "손"), ("Auh", "오"), ("Shinn", "신"),
     ("Kahng", "강"), ("Ihm", "임"), ("Zhang", "장")],
)  # fmt: skip
def test_popular_spellings_of_surnames_are_known(spelt: str, surname: str) -> None:
    """Spellings no syllable grammar gives ("Hahn", "Whang", "Sohn") are the surname, and a
    name written with one parses with it as the surname ("Whang Sun" is 황 Sun, not 선)."""
    assert korean.surname_hangul(spelt) == {surname}
    assert (
        korean.normalise_name(f"{spelt} Sun").surname_group
        == korean.normalise_name(f"{surname}선").surname_group
    )


def test_typo_keys_leave_search_keys_alone() -> None:
    """People search uses `search_keys`/`index_keys`: the typo keys are separate."""
    assert korean.search_keys("Kim Gyeogn-guk") == korean.search_keys("Kim Gyeogn-guk")
    assert "n:kim:kyeongkuk" in korean.search_keys("김경국")
    assert korean.typo_keys("") == korean.TypoKeys()


def _link(records: list[dict[str, str]], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "people.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    result = link_records([path], progress=False)
    return dict(zip(result.clusters["record_id"], result.clusters["cluster_id"], strict=True))


def _records_with(extra: list[tuple[str, str, str, str, str]]) -> list[dict[str, str]]:
    records = list(fieldlists.generate(400, seed=3).records)
    blank = dict.fromkeys(records[0], "")
    for record_id, source, name, hangul, birth in extra:
        records.append(
            {
                **blank,
                "record_id": record_id,
                "source": source,
                "name": name,
                "name_hangul": hangul,
                "birth_date": birth,
            }  # fmt: skip
        )
    return records


def _scored(extra: list[tuple[str, str, str, str, str]], tmp_path: Path) -> set[frozenset]:
    """The pairs the engine scored (all blocked pairs) on seed 3's records plus `extra`."""
    path = tmp_path / "people.csv"
    pd.DataFrame(_records_with(extra)).to_csv(path, index=False)
    result = link_records([path], progress=False, all_pairs=True)
    pairs = zip(result.pairs["record_id_l"], result.pairs["record_id_r"], strict=True)
    return {frozenset(pair) for pair in pairs}


def test_a_typod_name_blocks_with_its_partner(tmp_path: Path) -> None:
    """A record with a typo'd name and a year, and a media record with nothing but a name
    (whose fold agrees), are scored against their case files."""
    extra = [
        ("T1", "case_file", "Kim Gyeong-guk", "김경국", "1971-03-05"),
        ("T2", "foreign_media", "Kim Gyeogn-guk", "", "1971"),
        ("T3", "case_file", "Nam Sun-seon", "남순선", "1961-09-26"),
        ("T4", "ngo_list", "Nam Sun-seonn", "", ""),
    ]
    scored = _scored(extra, tmp_path)
    assert frozenset({"T1", "T2"}) in scored
    assert frozenset({"T3", "T4"}) in scored


def test_one_typing_error_and_nothing_else_in_common_is_still_scored(tmp_path: Path) -> None:
    """Pairs no other blocking rule met (seed 11 of the generator had 719 such true pairs): a
    substituted, dropped or doubled letter in the given name of a record with no birth date,
    beside the case file. The typing-error keys (`features.typo_block_keys`) bring them
    together."""
    extra = [
        ("U1", "case_file", "Gim Hak-gwang", "김학광", "1972-06-17"),
        ("U2", "ngo_list", "Kim Hal-kwang", "", ""),
        ("U3", "case_file", "Yu Ryeon-nam", "유련남", "1965-05-03"),
        ("U4", "foreign_media", "Yu Ryeon-nma", "", ""),
        ("U5", "family_report", "Jo Dong-hak", "", "1946-04-26"),
        ("U6", "foreign_media", "Cho Tonng-hak", "", ""),
    ]
    scored = _scored(extra, tmp_path)
    for pair in ({"U1", "U2"}, {"U3", "U4"}, {"U5", "U6"}):
        assert frozenset(pair) in scored, pair


def test_typing_error_keys_of_common_names_are_not_blocked_on() -> None:
    """A key more than TYPO_BLOCK_MAX_RECORDS records hold is dropped (a common name's pairs
    would grow with the square of the records); a rare name keeps its keys."""
    from jikimi.linkage.features import TYPO_BLOCK_MAX_RECORDS, typo_block_keys

    common = [("Kim Yong-ho", "")] * (TYPO_BLOCK_MAX_RECORDS + 1)
    rare = [("Kim Gyeogn-guk", ""), ("", "김경국")]
    names = pd.DataFrame([engine._name_columns(*name) for name in common + rare])
    keys = typo_block_keys(names)
    # Every key of the common name is held by too many records (and its neighbour's
    # variants here by none else): none kept.
    assert keys[0] is None
    typed, hangul = set(keys[-2] or ()), set(keys[-1] or ())
    assert typed & hangul  # one slip apart: a key in common
    assert all(key.startswith("kim:") for key in typed)


# Measured 0.9342 on `fieldlists.generate(1500, seed=21)` (3,478 records; P 0.952, R 0.917)
# at the default threshold 0.35 with belief propagation (0.9069 at 0.5 with the first-order
# rivals, 0.8819 before the source-aware step): the floor leaves a margin of 0.029 for
# platform noise, and fails if the source-aware step is lost.
F1_FLOOR = 0.905


def test_f1_on_the_independent_generator_stays_above_its_floor(tmp_path: Path) -> None:
    data = fieldlists.generate(1500, seed=21)
    clusters = _link(data.records, tmp_path)
    scores = fieldlists.scores_by_kind(clusters, data.truth, data.kinds)
    assert scores["overall"]["f1"] >= F1_FLOOR, scores["overall"]


def test_the_moderate_lists_have_the_same_sources_and_fewer_errors() -> None:
    """`scale` multiplies every error rate and the share of near-namesakes; 1 is the default
    (the same records as before the parameter existed)."""
    assert (
        fieldlists.generate(300, seed=4, scale=1.0).records
        == fieldlists.generate(300, seed=4).records
    )
    harsh = fieldlists.generate(2000, seed=5)
    moderate = fieldlists.generate(2000, seed=5, scale=fieldlists.MODERATE_SCALE)
    assert {r["source"] for r in moderate.records} == set(fieldlists.SOURCES)

    def share(data: fieldlists.FieldLists, kind: str) -> float:
        return sum(kind in k for k in data.kinds.values()) / len(data.kinds)

    for kind in ("name_only", "by_ear", "near_namesake", "year_pm1"):
        ratio = share(moderate, kind) / share(harsh, kind)
        assert 0.25 < ratio < 0.55, (kind, ratio)  # about MODERATE_SCALE = 0.4
    assert share(moderate, "clean") > share(harsh, "clean") + 0.15


def test_every_record_is_tagged_with_known_error_kinds() -> None:
    data = fieldlists.generate(300, seed=4)
    assert set(data.kinds) == set(data.truth) == {r["record_id"] for r in data.records}
    seen = set().union(*data.kinds.values())
    assert seen <= {*fieldlists.KINDS, "clean"}
    # The generator is seeded: the same seed gives the same records.
    assert fieldlists.generate(300, seed=4).records == data.records
    assert {"typo_drop", "name_only", "surname_heard", "near_namesake"} <= seen


def test_a_common_name_alone_is_not_a_block_but_with_a_date_it_still_meets(tmp_path) -> None:
    """At 1,000,000 generated records surname + given name alone gave 19.5 million pairs:
    the name rules block only on keys at most BLOCK_MAX_RECORDS records share. A common
    name's records with nothing else in common are not paired; two of them with the same
    birth date still are (the date rules)."""
    from jikimi.linkage.features import BLOCK_MAX_RECORDS, capped_block_key

    many = BLOCK_MAX_RECORDS + 2
    extra = [(f"N{i}", "ngo_list", "Kim Yong-ho", "", "") for i in range(many)]
    extra += [
        ("D1", "case_file", "Kim Yong-ho", "김영호", "1971-03-05"),
        ("D2", "family_report", "Kim Yong-ho", "", "1971-03-05"),
    ]
    scored = _scored(extra, tmp_path)
    assert frozenset({"D1", "D2"}) in scored
    assert frozenset({"N0", "N1"}) not in scored
    frame = pd.DataFrame({"a": ["x"] * many + ["y", "y", None], "b": ["1"] * (many + 3)})
    keys = capped_block_key(frame, ["a", "b"])
    assert keys[:many] == [None] * many and keys[many:] == ["y|1", "y|1", None]


@pytest.mark.parametrize(
    ("scanned", "meant"),
    [
        ("Kim Rim Sirn", "Gim Rim-shim"),
        ("Narn-ŭi Ch'oe", "Ch'oe Nam-ŭi"),
        ("Pak Sun-clok", "박순덕"),
        ("Kwon Son Gycng", "권선경"),
        ("Kim Pck Soon", "김복순"),
        ("Ri Ml Sonk", "Ri Mi Song"),
        ("Hong II Soo", "Hong Il-su"),
        ("Choe Chln Jin", "Choe Chin-jin"),
        ("Chong Sun iin", "Chong Sun-un"),
        ("Hong Hwa-scl", "홍화설"),  # cl before no vowel: c for o, not a d
        ("Bak Bong-secl", "Park Bong-sul"),
    ],
)
def test_a_scanned_rn_or_cl_is_read_back(scanned: str, meant: str) -> None:
    """OCR reads m as rn, d as cl and u as ii (two letters for one), o or e as c, l as I and
    i as l: the fold reads them back, so the given names are the same name, not one or two edits
    apart."""
    assert korean.typo_keys(scanned).fold == korean.typo_keys(meant).fold
    levels = scoring.score_pair(_features(scanned), _features(meant)).levels  # type: ignore[arg-type]
    assert levels["given_name"] in {"keys_intersect", "exact"}


def test_two_swapped_letters_are_one_letter_apart() -> None:
    """A transposition is two Levenshtein edits but one slip: the given name's "One letter
    apart" level takes it (the same letters, sorted, at most two edits apart)."""
    typed, meant = "Kwon Hyangusn", "Kwon Hyang-sun"
    assert spec.levenshtein(korean.typo_keys(typed).fold, korean.typo_keys(meant).fold, 2) == 2
    levels = scoring.score_pair(_features(typed), _features(meant)).levels  # type: ignore[arg-type]
    assert levels["given_name"] == "lev1"
    # Two different letters two edits apart are still "Two letters apart".
    levels = scoring.score_pair(_features("Kwon Hyangtan"), _features(meant)).levels  # type: ignore[arg-type]
    assert levels["given_name"] == "lev2"


def test_a_swapped_il_is_not_read_as_a_scanned_i() -> None:
    """A written "Kli-yong" is "Kil-yong" with two keys swapped; the scanner's l for i ("Ml",
    "Chln") never stands before a vowel, so the l stays an l and the swap is one slip."""
    levels = scoring.score_pair(_features("Chong Kli-yong"), _features("정길용")).levels  # type: ignore[arg-type]
    assert levels["given_name"] == "lev1"
    assert korean.typo_keys("Ri Ml Sonk").fold == korean.typo_keys("Ri Mi Song").fold


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("Hwnag Ŭn-ji", "황은지"), ("Pka Song-hyon", "Pak Song Hyon"), ("Jng Sul-hyang", "정설향")],
)
def test_a_misspelt_surname_is_one_letter_apart(typed: str, meant: str) -> None:
    """A slip in the surname makes it no Korean surname, whose coarse key is then its own
    letters, far from the surname's: on the letters as written it is one slip apart."""
    assert korean.typo_keys(typed).surname_known is False
    assert korean.typo_keys(meant).surname_known is True
    levels = scoring.score_pair(_features(typed), _features(meant)).levels  # type: ignore[arg-type]
    assert levels["surname"] == "lev1"


def test_two_known_surnames_do_not_meet_on_their_letters() -> None:
    """조 and 고 are two surnames: their letters one apart count only when one surname is no
    Korean one; so do their coarse keys (강 and 장: "kang", "cang")."""
    left, right = engine._name_columns("", "조영호"), engine._name_columns("", "고영호")
    assert left["surname_odd"] == right["surname_odd"] == 0
    comparison = next(c for c in spec.COMPARISONS if c.name == "surname")
    row = {**left, "surname_group": "x", "surname_keys": ["x"]}
    other = {**right, "surname_group": "yyy", "surname_keys": ["yyy"]}
    # Coarse keys far apart, letters one apart ("co", "ko"): not "One letter apart".
    assert comparison.level_of(row, other) == "else"
    assert comparison.level_of({**row, "surname_odd": 1}, other) == "lev1"
    # Two known surnames one letter apart on the coarse key are not "One letter apart".
    levels = scoring.score_pair(_features("Kang Mi-jin"), _features("Jang Mi-jin")).levels  # type: ignore[arg-type]
    assert levels["surname"] == "lev2"


def test_a_name_only_record_with_a_misspelt_surname_meets_its_partner(tmp_path: Path) -> None:
    """Seed 11 of the generator had 291 true pairs no blocking rule met, many a slip in the
    surname of a record with nothing but a name ("Hwnag Ŭn-ji"): the folded given name and
    the surname's first letter bring them together (`features.surname_slip_keys`). Such a
    pair alone scores low (a name, one slip off, and nothing else); with a year or a month in
    common the misspelt surname's "One letter apart" links it."""
    extra = [
        ("S1", "case_file", "Hwang Eun-ji", "황은지", "1974-02-11"),
        ("S2", "nk_media", "Hwnag Ŭn-ji", "", ""),
        ("S3", "case_file", "Pak Song-hyeon", "박성현", "1977-08-30"),
        ("S4", "ngo_list", "Pka Song-hyon", "", ""),
        ("S5", "family_report", "Hwnag Eun-ji", "", "1974-02"),
        ("S6", "family_report", "Pka Song-hyon", "", "1977-08"),
    ]
    scored = _scored(extra, tmp_path)
    assert frozenset({"S1", "S2"}) in scored
    assert frozenset({"S3", "S4"}) in scored
    clusters = _link(_records_with(extra), tmp_path)
    assert clusters["S1"] == clusters["S2"] == clusters["S5"]
    assert clusters["S3"] == clusters["S6"]


def test_agreeing_on_a_field_never_counts_against_a_match(tmp_path: Path) -> None:
    """On the field lists only case files have a county and none holds a person twice, so
    EM learns that the same county means two people (−37 bits on 9,000 records). Full
    agreement is kept from counting against, disagreement from counting for."""
    path = tmp_path / "people.csv"
    pd.DataFrame(fieldlists.generate(600, seed=3).records).to_csv(path, index=False)
    model = engine.train_model(engine.derive_columns(engine.read_records([path])))
    for comparison in model["splink_model"]["comparisons"]:
        levels = [
            lv
            for lv in comparison["comparison_levels"]
            if not lv.get("is_null_level") and "m_probability" in lv
        ]
        first, last = levels[0], levels[-1]
        assert first["m_probability"] >= first["u_probability"], comparison["output_column_name"]
        assert last["m_probability"] <= last["u_probability"], comparison["output_column_name"]


def test_a_level_no_sample_met_is_left_as_splink_left_it() -> None:
    """Splink leaves out the u of a level random sampling never met (and the m of one no
    match reached): nothing to compare, no error (missing_90 of `synthetic` has both)."""
    from jikimi.linkage import model

    levels = [
        {"is_null_level": True},
        {"m_probability": 0.2},  # "Same": no u
        {"u_probability": 0.1},  # no m
        {"m_probability": 0.5, "u_probability": 0.2},  # "Different", for a match: capped
    ]
    model._agreement_never_against(levels)
    assert levels[1] == {"m_probability": 0.2} and levels[2] == {"u_probability": 0.1}
    assert levels[3]["m_probability"] == 0.2


def test_every_level_meant_to_be_weighed_by_frequency_is_in_splinks_settings() -> None:
    """A term-frequency adjustment set on a test inside an And or an Or is dropped by
    Splink (the given name's "Same name in another spelling" lost its own unseen when it
    became an And). Set on the level (`spec.Level.tf_column`), it reaches the settings; the
    given name's is left out on purpose (`spec._name_comparison`)."""
    adjusted = {}
    for comparison in spec.splink_comparisons():
        settings = comparison.get_comparison("duckdb").as_dict()
        for level in settings["comparison_levels"]:
            if level.get("tf_adjustment_column"):
                adjusted[(settings["output_column_name"], level["label_for_charts"])] = level[
                    "tf_adjustment_column"
                ]
    assert adjusted == {
        ("surname", "Same name in another spelling"): "surname_group",
    }
