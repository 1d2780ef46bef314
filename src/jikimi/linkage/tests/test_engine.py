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
