"""One definition of each comparison (`spec.py`): Splink (DuckDB) and the in-app scorer give
every pair the same level per comparison and the same total weight.

The in-app weight is compared with Splink's without its term-frequency adjustments (the pages
adjust by blind-index digests instead, `scoring.TermFrequencies`): log2 of the prior odds plus
the sum of log2 of every comparison's Bayes factor.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jikimi.lib import records as person_record
from jikimi.linkage import engine, scoring, spec, synthetic

pytestmark = pytest.mark.nodb

ALIAS_SOURCE = "alias_list"
FIELDS = [
    "record_id",
    "source",
    "name",
    "birth_date",
    "sex",
    "province",
    "county",
    "defection_year",
]


def _model() -> dict[str, Any]:
    """A small saved model: the spec's Splink settings with m and u of its own (each level's
    default, shifted by its position, so a level read from the wrong place would show)."""
    settings_dict = engine.settings_creator().create_settings_dict("duckdb")
    for comparison in settings_dict["comparisons"]:
        defaults = spec.BY_NAME[comparison["output_column_name"]]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for position, (level, own) in enumerate(zip(levels, defaults.levels, strict=True)):
            level["m_probability"] = min(own.m * (1 + 0.07 * position), 0.99)
            level["u_probability"] = min(own.u * (1 + 0.05 * position), 0.99)
    settings_dict["probability_two_random_records_match"] = 2e-4
    settings_dict["retain_intermediate_calculation_columns"] = True  # mw_<comparison>
    return {"alias_sources": [ALIAS_SOURCE], "splink_model": settings_dict}


MODEL = _model()
WEIGHTS = scoring.weights_from_model(MODEL)


@dataclass(frozen=True)
class Record:
    name: str
    birth_date: str = ""
    sex: str = ""
    province: str = ""
    county: str = ""
    defection_year: str = ""
    alias: bool = False


def _splink(pairs: list[tuple[Record, Record]], tmp_path: Path) -> pd.DataFrame:
    """Every pair scored by Splink on DuckDB, one group per pair (as `ScoredPairs.within`)."""
    rows = []
    for i, pair in enumerate(pairs):
        for side, record in zip("LR", pair, strict=True):
            rows.append(
                {
                    "record_id": f"{side}{i:03d}",
                    "source": ALIAS_SOURCE if record.alias else "plain",
                    **{f: getattr(record, f) for f in FIELDS[2:]},
                }
            )
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=FIELDS).to_csv(path, index=False)
    derived = engine.derive_columns(engine.read_records([path]), alias_sources=[ALIAS_SOURCE])
    grouped = derived.assign(grp=[int(r[1:]) for r in derived["record_id"]])
    grouped.attrs = dict(derived.attrs)
    frame, _ = engine._predict(grouped, MODEL, "duckdb", blocking_rules=["l.grp = r.grp"])
    scored = frame.as_pandas_dataframe()
    scored["pair"] = [int(r[1:]) for r in scored["record_id_l"]]
    return scored.set_index("pair")


def _features(record: Record) -> scoring.RecordFeatures:
    """The in-app features of a person saved from this record (as the importer saves one)."""
    birth = person_record.read_birth_date(record.birth_date)
    person = SimpleNamespace(
        birth_year=birth.year if birth else None,
        sex=person_record.read_sex(record.sex),
        province=person_record.read_province(record.province),
        defection_year=person_record.read_defection_year(record.defection_year),
    )
    return scoring.features_of(
        person,
        [record.name],
        [record.birth_date] if record.birth_date else [],
        [record.county],
        [ALIAS_SOURCE if record.alias else "plain"],
        alias_prone=frozenset({ALIAS_SOURCE}),
    )


def _level_weights() -> dict[str, dict[float, str]]:
    """Splink 5 gives each comparison's match weight (`mw_<name>`), not its level: the
    model's levels weigh differently within a comparison (checked here), so the weight names
    the level. A null level weighs 0."""
    out: dict[str, dict[float, str]] = {}
    for comparison in MODEL["splink_model"]["comparisons"]:
        name = comparison["output_column_name"]
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        weights = {
            round(math.log2(lv["m_probability"] / lv["u_probability"]), 6): level
            for lv, level in zip(levels, spec.BY_NAME[name].level_names, strict=True)
        }
        assert len(weights) == len(levels) and 0.0 not in weights, name
        out[name] = {0.0: spec.NULL_LEVEL, **weights}
    return out


LEVEL_WEIGHTS = _level_weights()


def _splink_levels(row: pd.Series) -> dict[str, str]:
    return {
        c.name: LEVEL_WEIGHTS[c.name][round(float(row[f"mw_{c.name}"]), 6)]
        for c in spec.COMPARISONS
    }


def _splink_bits(row: pd.Series) -> float:
    """Splink's match weight without its term-frequency adjustments."""
    prior = MODEL["splink_model"]["probability_two_random_records_match"]
    return math.log2(prior / (1 - prior)) + sum(
        float(row[f"mw_{c.name}"]) for c in spec.COMPARISONS
    )


def _in_app_bits(levels: dict[str, str]) -> float:
    return math.log2(WEIGHTS.prior / (1 - WEIGHTS.prior)) + sum(
        WEIGHTS.bits(field, level) for field, level in levels.items()
    )


def assert_same(pairs: list[tuple[Record, Record]], tmp_path: Path) -> None:
    scored = _splink(pairs, tmp_path)
    for i, (left, right) in enumerate(pairs):
        in_app = scoring.score_pair(_features(left), _features(right), weights=WEIGHTS)
        splink_levels = _splink_levels(scored.loc[i])
        assert in_app.levels == splink_levels, (left, right)
        assert _in_app_bits(in_app.levels) == pytest.approx(_splink_bits(scored.loc[i]), abs=1e-6)


# --- The example ----------------------------------------------------------------


def test_1957_10_12_and_1957_10_20_are_different_dates_everywhere(tmp_path: Path) -> None:
    left = Record("Kim Chol-su", "1957-10-12", "M")
    right = Record("김철수", "1957-10-20", "M")
    birth = spec.BY_NAME["birth_date"]
    assert birth.level_of(_features(left).columns(), _features(right).columns()) == "else"
    assert scoring.score_pair(_features(left), _features(right)).levels["birth_date"] == "else"
    assert_same([(left, right)], tmp_path)
    # ... while a month with the day unknown is compatible with it, and a year one off with
    # month and day the same is a recording error.
    assert_same(
        [
            (left, Record("Kim Chol Su", "1957-10")),
            (left, Record("Kim Chol Su", "1957")),
            (left, Record("Kim Chol Su", "1958-10-12")),
            (left, Record("Kim Chol Su", "1958-10")),
            (left, Record("Kim Chol Su", "1956-11")),
        ],
        tmp_path,
    )


# --- Random pairs -----------------------------------------------------------------------

# Names of synthetic people in every spelling their sources use (typos included), by person.
_RECORDS, _TRUTH = synthetic.generate(400, seed=11, difficulty="hard")
_BY_PERSON: dict[str, list[dict[str, str]]] = {}
for _record in _RECORDS:
    _BY_PERSON.setdefault(_TRUTH[_record["record_id"]], []).append(_record)
PEOPLE = [group for group in _BY_PERSON.values() if len(group) > 1]
NAMES = [r["name_hangul"] or r["name"] for r in _RECORDS]
HANGUL_NAMES = [r["name_hangul"] for r in _RECORDS if r["name_hangul"]]
NEAR_SURNAMES = [("조", "주"), ("오", "우"), ("고", "구"), ("성", "송"), ("정", "종")]
PROVINCE_SPELLINGS = [s for spellings in synthetic.PROVINCES.values() for s in spellings[:2]]
COUNTIES = ["회령시", "Hoeryong", "Hoeryŏng-si", "무산군", "Musan", "Musn", "청진시", ""]


def _date(rng: random.Random, year: int, month: int, day: int) -> str:
    form = rng.choice(["", "y", "ym", "ymd", "ymd"])
    return {
        "": "",
        "y": f"{year}",
        "ym": f"{year}-{month:02d}",
        "ymd": f"{year}-{month:02d}-{day:02d}",
    }[form]


def random_pair(rng: random.Random) -> tuple[Record, Record]:
    """Two records: of one synthetic person (two of their spellings) or of two, with dates,
    places and years that agree, nearly agree or not, each known or not."""
    if rng.random() < 0.04:  # a surname alone, or no name at all
        names = (rng.choice(NAMES), rng.choice(["Pak", "", "리"]))
    elif rng.random() < 0.04:  # two surnames one vowel apart (조 and 주 share a coarse key)
        given = rng.choice(HANGUL_NAMES)[1:]
        near, far = rng.choice(NEAR_SURNAMES)
        names = (near + given, far + given)
    elif rng.random() < 0.5:
        a, b = rng.sample(rng.choice(PEOPLE), 2)
        names = (a["name"], b["name"] if rng.random() < 0.5 else b["name_hangul"] or b["name"])
    else:
        names = (rng.choice(NAMES), rng.choice(NAMES))
    year, month, day = rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)
    # The other date: the same, a day, month or year off, or unrelated.
    other = rng.choice(
        [
            (year, month, day),
            (year, month, rng.randint(1, 28)),
            (year, rng.randint(1, 12), day),
            (year + rng.choice([-1, 1]), month, day),
            (year + rng.choice([-1, 1]), rng.randint(1, 12), rng.randint(1, 28)),
            (rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28)),
        ]
    )
    defection = rng.randint(1995, 2020)

    def record(name: str, date: tuple[int, int, int]) -> Record:
        return Record(
            name=name,
            birth_date=_date(rng, *date),
            sex=rng.choice(["M", "F", ""]),
            province=rng.choice([*PROVINCE_SPELLINGS, ""]),
            county=rng.choice(COUNTIES),
            defection_year=rng.choice([str(defection + d) for d in (0, 1, 3)] + [""]),
            alias=rng.random() < 0.2,
        )

    return record(names[0], (year, month, day)), record(names[1], other)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.randoms(use_true_random=False).map(random_pair), min_size=1, max_size=40))
def test_splink_and_the_in_app_scorer_agree_on_random_pairs(
    tmp_path: Path, pairs: list[tuple[Record, Record]]
) -> None:
    assert_same(pairs, tmp_path)


def test_the_random_pairs_reach_every_level() -> None:
    """Else the property above would not test them all."""
    rng = random.Random(3)
    seen: dict[str, set[str]] = {c.name: set() for c in spec.COMPARISONS}
    for _ in range(1500):
        left, right = random_pair(rng)
        levels = scoring.score_pair(_features(left), _features(right), weights=WEIGHTS).levels
        for field, level in levels.items():
            seen[field].add(level)
    for comparison in spec.COMPARISONS:
        assert seen[comparison.name] == {spec.NULL_LEVEL, *comparison.level_names}, comparison.name
