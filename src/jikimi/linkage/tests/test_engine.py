"""`jikimi.linkage.engine`: column-wise derivation, its warnings, and quiet scoring."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jikimi.linkage import engine

HEADER = "record_id,source,name,name_hangul,birth_date,sex,province,county,defection_year\n"


def _derive(tmp_path: Path, rows: str) -> tuple[pd.DataFrame, list[str]]:
    path = tmp_path / "people.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    records = engine.read_records([path])
    return engine.derive_columns(records), records.warnings


def test_dates_are_parsed_column_wise_to_the_precision_given(tmp_path: Path) -> None:
    derived, warnings = _derive(
        tmp_path,
        "A,x,Kim Chol-su,,1980-2-3,M,함북,,\n"
        "B,x,Kim Chol-su,,1980-02,m,North Hamgyong,,2001\n"
        "C,x,Kim Chol-su,,1980,,,,\n"
        "D,x,Kim Chol-su,,1980-02-30,X,Atlantis,,soon\n",
    )
    assert derived["birth_full"].tolist() == ["1980-02-03", None, None, None]
    assert derived["birth_ym"].tolist() == ["1980-02", "1980-02", None, None]
    assert derived["birth_year"].tolist()[:3] == [1980, 1980, 1980]
    assert pd.isna(derived["birth_year"][3])
    assert derived["birth_md"].tolist() == ["02-03", None, None, None]
    assert derived["sex"].tolist() == ["M", "M", None, None]
    assert derived["province_code"].tolist() == ["KP-09", "KP-09", None, None]
    assert derived["defection_year"].tolist()[1] == 2001
    assert any("row 5: column 'birth_date'" in w for w in warnings)
    assert any("row 5: column 'sex'" in w for w in warnings)
    assert any("row 5: column 'province'" in w for w in warnings)
    assert any("row 5: column 'defection_year'" in w for w in warnings)


def test_a_name_is_parsed_once_per_distinct_spelling(tmp_path: Path) -> None:
    rows = "".join(f"R{i},x,Kim Chol-su,,1980,M,,,\n" for i in range(50))
    derived, _ = _derive(tmp_path, rows + "Z,x,,,1980,M,,,\n")
    assert (derived["given_key"][:50] == derived["given_key"][0]).all()
    assert derived["surname_keys"][50] is None


def test_mirror_split_does_not_put_one_token_in_both_arrays() -> None:
    # "Yun Won" must not meet "Baek Won" on the surname through the reading 원 윤.
    yun_won = engine._name_columns("Yun Won", "")
    baek_won = engine._name_columns("Baek Won", "")
    assert not set(yun_won["surname_keys"]) & set(baek_won["surname_keys"])


def test_scoring_prints_nothing_to_stdout(tmp_path: Path, capfd) -> None:
    rows = "".join(
        f"R{i},x,{name},,19{60 + i % 30}-0{1 + i % 9}-1{i % 9},{'MF'[i % 2]},함북,,\n"
        for i, name in enumerate(["Kim Chol-su", "Ri Yong-ho", "Pak Mi-ran", "Choe Song"] * 60)
    )
    path = tmp_path / "people.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    records = engine.read_records([path])
    derived = engine.derive_columns(records)
    model = engine.train_model(derived)
    pairs = engine.predict_pairs(derived, model, threshold=0.5)
    assert list(pairs.columns) == ["record_id_l", "record_id_r", "match_probability"]
    assert capfd.readouterr().out == ""


def test_a_source_that_uses_aliases_is_found_in_the_data(tmp_path: Path) -> None:
    from jikimi.linkage import synthetic

    records, _ = synthetic.generate(6000, seed=5, difficulty="typical")
    path = tmp_path / "people.csv"
    synthetic.write_records(records, path)
    derived = engine.derive_columns(engine.read_records([path]))
    assert derived.attrs["alias_sources"] == ["china_police"]
    police = [r["source"] == "china_police" for r in records]
    assert derived["alias_source"].tolist() == [int(p) for p in police]
    # A trained model's list wins over the data's.
    again = engine.derive_columns(engine.read_records([path]), alias_sources=[])
    assert again.attrs["alias_sources"] == [] and not again["alias_source"].any()


def test_no_source_is_taken_for_an_alias_user_without_aliases(tmp_path: Path) -> None:
    from jikimi.linkage import synthetic

    records, _ = synthetic.generate(6000, seed=5, difficulty="easy")
    path = tmp_path / "people.csv"
    synthetic.write_records(records, path)
    assert engine.derive_columns(engine.read_records([path])).attrs["alias_sources"] == []


def test_extra_identifier_columns_become_ascii_keys(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        'record_id,source,name,passport\nA,x,Kim Chol," AB-12 "\nB,x,Ri Chol,\nC,x,Pak Chol,ÀB12\n',
        encoding="utf-8",
    )
    records = engine.read_records([path], extra_columns=["passport", "postcode"])
    derived = engine.derive_columns(records, extra_columns=["passport", "postcode"])
    assert derived["x_passport"].tolist() == ["ab12", None, "ab12"]
    assert derived["x_postcode"].tolist() == [None, None, None]
    with pytest.raises(engine.LinkInputError, match="'name'"):
        engine.read_records([path], extra_columns=["name"])


def _pairs(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "match_probability"])


def test_one_record_that_fits_two_people_does_not_chain_them() -> None:
    # A1–A2 and B1–B2 are surely pairs; X fits A1 well and B1 a little less; every A–B pair
    # says they are different people. Connected components made one cluster of five.
    pairs = _pairs(
        [
            ("A1", "A2", 0.99),
            ("B1", "B2", 0.99),
            ("A1", "X", 0.95),
            ("A2", "X", 0.7),
            ("B1", "X", 0.9),
            ("B2", "X", 0.6),
            *((a, b, 0.01) for a in ("A1", "A2") for b in ("B1", "B2")),
        ]
    )
    clusters = engine.cluster_records(["A1", "A2", "B1", "B2", "X"], pairs, 0.5)
    assert dict(zip(clusters["record_id"], clusters["cluster_id"], strict=True)) == {
        "A1": "A1",
        "A2": "A1",
        "X": "A1",
        "B1": "B1",
        "B2": "B1",
    }


def test_a_pair_at_the_threshold_links_two_records_and_below_it_does_not() -> None:
    pairs = _pairs([("A", "B", 0.5), ("C", "D", 0.4999)])
    clusters = engine.cluster_records(["A", "B", "C", "D"], pairs, 0.5)
    assert clusters["cluster_id"].tolist() == ["A", "A", "C", "D"]


def test_three_records_join_when_their_pairs_on_balance_clear_the_threshold() -> None:
    # One strong pair and one weak: A, B and C are one person at 0.5 (3.2 + 2 - 1 bits > 0)
    # but at 0.9 the two weaker pairs (each below 0.9) outweigh the strong one.
    pairs = _pairs([("A", "B", 0.99), ("A", "C", 0.8), ("B", "C", 0.3)])
    at_half = engine.cluster_records(["A", "B", "C"], pairs, 0.5)
    assert at_half["cluster_id"].tolist() == ["A", "A", "A"]
    strict = engine.cluster_records(["A", "B", "C"], pairs, 0.9)
    assert strict["cluster_id"].tolist() == ["A", "A", "C"]


def test_clusters_do_not_depend_on_the_order_of_the_pairs() -> None:
    import random

    rng = random.Random(3)
    ids = [f"R{i:03d}" for i in range(60)]
    rows = [(a, b, round(rng.random(), 3)) for i, a in enumerate(ids) for b in ids[i + 1 : i + 4]]
    first = engine.cluster_records(ids, _pairs(rows), 0.5)
    rng.shuffle(rows)
    again = engine.cluster_records(list(reversed(ids)), _pairs(rows), 0.5)
    assert first.equals(again)


def test_pairs_within_a_candidate_cluster_are_all_scored(tmp_path: Path) -> None:
    rows = "".join(
        f"R{i},x,{name},,19{60 + i % 30}-0{1 + i % 9}-1{i % 9},{'MF'[i % 2]},함북,,\n"
        for i, name in enumerate(["Kim Chol-su", "Ri Yong-ho", "Pak Mi-ran", "Choe Song"] * 60)
    )
    path = tmp_path / "people.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    derived = engine.derive_columns(engine.read_records([path]))
    scored = engine.score_pairs(derived, engine.train_model(derived))
    blocked = set(zip(*scored.to_pandas()[["record_id_l", "record_id_r"]].T.values, strict=True))
    # R0 (Kim Chol-su, 1960) and R1 (Ri Yong-ho, 1961) share no blocking key.
    assert ("R0", "R1") not in blocked
    groups = pd.DataFrame({"record_id": ["R0", "R1", "R4"], "grp": [7, 7, 7]})
    within = scored.within(groups)
    assert set(zip(within["record_id_l"], within["record_id_r"], strict=True)) == {
        ("R0", "R1"),
        ("R0", "R4"),
        ("R1", "R4"),
    }
    strangers = within[(within["record_id_l"] == "R0") & (within["record_id_r"] == "R1")]
    assert strangers["match_probability"].iloc[0] < 0.01


def test_a_failed_em_session_leaves_every_comparison_in_the_model(tmp_path: Path) -> None:
    # On this file an EM session (the one blocked on the full birth date) stops on a level
    # whose m underflows and is retried; it used to leave the birth date out of the model and
    # λ at the session's 0.39, and the clusters were half wrong.
    from jikimi.linkage import synthetic

    records, _ = synthetic.generate(20000, seed=1, difficulty="typical")
    path = tmp_path / "people.csv"
    synthetic.write_records(records, path)
    model = engine.train_model(engine.derive_columns(engine.read_records([path])))
    splink_model = model["splink_model"]
    assert [c["output_column_name"] for c in splink_model["comparisons"]] == [
        "surname",
        "given_name",
        "birth_date",
        "sex",
        "province_code",
        "county",
        "defection",
    ]
    assert splink_model["probability_two_random_records_match"] < 0.001
