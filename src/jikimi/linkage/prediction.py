"""Scoring blocked pairs on a backend (DuckDB or Spark) with a trained model; the pairs stay
in the backend (`ScoredPairs`) and only what clustering needs comes to Python."""

from __future__ import annotations

import itertools
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jikimi.linkage import competition
from jikimi.linkage.features import ARRAY_COLUMNS, derived_columns
from jikimi.linkage.model import _silence_splink, _to_splink_frame, duckdb_api, settings_creator


def predict_pairs(
    derived: pd.DataFrame,
    model: dict[str, Any],
    *,
    backend: str = "duckdb",
    threshold: float | None = None,
) -> pd.DataFrame:
    """Scored pairs `record_id_l, record_id_r, match_probability` (optionally thresholded)."""
    return score_pairs(derived, model, backend=backend, floor=threshold).to_pandas(threshold)


@dataclass
class ScoredPairs:
    """Every blocked pair, scored and kept in the backend: a million records give tens of
    millions of pairs, and only a few of them are ever needed in Python."""

    frame: Any  # a SplinkDataFrame of the backend's predictions
    db_api: Any
    derived: pd.DataFrame
    model: dict[str, Any]
    backend: str
    floor: float | None = None  # only pairs at or above this were kept (None: every pair)
    #: Source-aware priors and rivals (`competition`), None for records of one source.
    priors: competition.SourcePriors | None = None

    def to_pandas(self, threshold: float | None = None) -> pd.DataFrame:
        """The pairs (at or above `threshold`), lower record id on the left."""
        raw = threshold
        if self.priors is not None and threshold is not None:
            raw = self.priors.raw_floor(threshold)
        if self.floor is not None and (raw is None or raw < self.floor):
            raise ValueError(f"only pairs at or above {self.floor} were kept")
        pairs = self._raw(raw)
        return self._adjusted(pairs, threshold)

    def _raw(self, floor: float | None) -> pd.DataFrame:
        """The backend's pairs at or above `floor` (raw probability), with their weights."""
        where = "" if floor is None else f" WHERE match_probability >= {float(floor)!r}"
        # A float and Splink's own table name: nothing from the input reaches the SQL.
        sql = (
            "SELECT record_id_l, record_id_r, match_weight, match_probability"  # noqa: S608
            f" FROM {{this}}{where}"
        )
        return _normalised_pairs(self.frame.query_sql(sql).as_pandas_dataframe())

    def _coded_pairs(
        self, codes: competition.Coding, floor: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(left record, right record, match weight) of the pairs at or above `floor`, the
        records as their codes: joined in the backend, so no record id comes to Python."""
        table = self.db_api.register(codes.table(), table_name=f"__jikimi_codes_{id(codes)}")
        name = table.physical_name  # ours; the ids travel as data
        sql = (
            "SELECT cl.record AS l, cr.record AS r, p.match_weight AS w FROM {this} p"  # noqa: S608
            f" JOIN {name} cl ON cl.record_id = p.record_id_l"
            f" JOIN {name} cr ON cr.record_id = p.record_id_r"
            f" WHERE p.match_probability >= {float(floor)!r}"
        )
        frame = self.frame.query_sql(sql).as_pandas_dataframe()
        return (
            frame["l"].to_numpy(np.int64),
            frame["r"].to_numpy(np.int64),
            frame["w"].to_numpy(float),
        )

    def _adjusted(self, pairs: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
        """The source-aware probabilities (when there are priors), at or above `threshold`."""
        if self.priors is not None:
            pairs = self.priors.apply(pairs)
            if threshold is not None:
                pairs = pairs[pairs["match_probability"] >= threshold]
        return pairs[_PAIR_COLUMNS].reset_index(drop=True)

    def within(self, groups: pd.DataFrame) -> pd.DataFrame:
        """Every pair of records in the same group (`record_id, grp`), scored.

        Blocking scored only the pairs that share a blocking key; two records of a candidate
        cluster that share none (another given name and another birth year) are strong
        evidence that the cluster is two people, so groups of up to `DENSE_GROUP_MAX` records
        have all their pairs scored, with the same model (term frequencies of the whole
        file). Larger groups (long chains of common names, rare) use the pairs blocking
        scored that were kept (`floor`).
        """
        if groups.empty:
            return _normalised_pairs(pd.DataFrame(columns=["record_id_l", "record_id_r"]))
        sizes = groups["grp"].map(groups["grp"].value_counts())
        dense, sparse = groups[sizes <= DENSE_GROUP_MAX], groups[sizes > DENSE_GROUP_MAX]
        parts = []
        if not dense.empty:
            grp = self.derived["record_id"].map(dense.set_index("record_id")["grp"])
            with_groups = self.derived.assign(grp=grp.astype("Int64"))
            with_groups.attrs = dict(self.derived.attrs)
            frame, _ = _predict(
                with_groups, self.model, self.backend, blocking_rules=["l.grp = r.grp"]
            )
            parts.append(frame.as_pandas_dataframe())
        if not sparse.empty:
            table = self.db_api.register(
                sparse.astype({"record_id": str, "grp": "int64"}),
                table_name=f"__jikimi_groups_{id(sparse)}",
            )
            # Table names are ours; the record ids travel as data.
            groups_table = table.physical_name
            sql = (
                "SELECT p.record_id_l, p.record_id_r, p.match_weight, p.match_probability"  # noqa: S608
                " FROM {this} p"
                f" JOIN {groups_table} gl ON gl.record_id = p.record_id_l"
                f" JOIN {groups_table} gr ON gr.record_id = p.record_id_r WHERE gl.grp = gr.grp"
            )
            parts.append(self.frame.query_sql(sql).as_pandas_dataframe())
        columns = [*_PAIR_COLUMNS, "match_weight"]
        pairs = _normalised_pairs(pd.concat([p[columns] for p in parts], ignore_index=True))
        return self._adjusted(pairs, None)


DENSE_GROUP_MAX = 300  # 44,850 pairs at most per group
_PAIR_COLUMNS = ["record_id_l", "record_id_r", "match_probability"]


def score_pairs(
    derived: pd.DataFrame,
    model: dict[str, Any],
    *,
    backend: str = "duckdb",
    floor: float | None = None,
    sources: pd.Series | None = None,
) -> Any:
    """Score every blocked pair on `backend`; the result stays there (`ScoredPairs`), keeping
    only pairs at or above `floor` when one is given (a million records give tens of millions
    of pairs; writing them all out doubled the time of scoring).

    `sources` (record_id → source): with two or more, the probabilities are source-aware
    (`competition`): the pairs down to `competition.FIT_FLOOR` are kept to fit on."""
    several = sources is not None and sources.nunique() > 1
    if several and floor is not None:
        floor = min(floor, competition.FIT_FLOOR)
    frame, db_api = _predict(derived, model, backend, floor=floor)
    scored = ScoredPairs(
        frame=frame, db_api=db_api, derived=derived, model=model, backend=backend, floor=floor
    )
    codes = competition.coding(sources) if several and sources is not None else None
    if codes is not None:
        left, right, weights = scored._coded_pairs(codes, competition.FIT_FLOOR)
        base = float(model["splink_model"]["probability_two_random_records_match"])
        scored.priors = competition.fit_coded(left, right, weights, codes, base)
    return scored


def _predict(
    derived: pd.DataFrame,
    model: dict[str, Any],
    backend: str,
    blocking_rules: Sequence[str] | None = None,
    floor: float | None = None,
) -> tuple[Any, Any]:
    from splink import Linker

    _silence_splink()
    settings = model["splink_model"]
    if backend == "duckdb":
        db_api = duckdb_api()
        table = db_api.register(_to_splink_frame(derived), dataset_display_name="people")
    elif backend == "spark":
        db_api, table = _spark_table(derived)
        settings = _with_dialect(model, "spark")
    else:
        raise ValueError(f"unknown backend {backend!r}")
    if blocking_rules is not None:
        dialect = "spark" if backend == "spark" else "duckdb"
        settings = {
            **settings,
            "blocking_rules_to_generate_predictions": [
                {"blocking_rule": rule, "sql_dialect": dialect} for rule in blocking_rules
            ],
        }
    linker = Linker(table, settings, log_level=logging.ERROR)
    scored = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    return scored, db_api


def _normalised_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Lower id on the left and one row per pair, sorted, whichever engine scored it."""
    left_ids = pairs["record_id_l"].astype(str)
    right_ids = pairs["record_id_r"].astype(str)
    pairs = pd.DataFrame(
        {
            "record_id_l": np.minimum(left_ids, right_ids),
            "record_id_r": np.maximum(left_ids, right_ids),
            "match_probability": pd.to_numeric(
                pairs.get("match_probability", pd.Series(dtype=float)), errors="coerce"
            ).astype(float),
            **(
                {"match_weight": pairs["match_weight"].astype(float).to_numpy()}
                if "match_weight" in pairs
                else {}
            ),
        }
    )
    return pairs.sort_values(["record_id_l", "record_id_r"], kind="stable").reset_index(drop=True)


def _with_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The trained parameters on SQL written for another engine (the saved JSON holds DuckDB's
    `list_intersect`; Spark needs `array_intersect`)."""
    trained = model["splink_model"]
    fresh = settings_creator(
        model.get("extra_columns", ()), model.get("extra_blocking_columns", ())
    ).create_settings_dict(dialect)
    for comparison, learnt in zip(fresh["comparisons"], trained["comparisons"], strict=True):
        for level, learnt_level in zip(
            comparison["comparison_levels"], learnt["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if learnt_level.get(key) is not None:
                    level[key] = learnt_level[key]
    fresh["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    return fresh


_SPARK_SESSION: Any = None


def spark_session() -> Any:
    """A local Spark session (`--backend spark`); pyspark is the optional `spark` extra."""
    global _SPARK_SESSION
    if _SPARK_SESSION is None:
        import os

        from pyspark.sql import SparkSession

        # Spark's Python workers must run this interpreter, not whatever `python3` is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

        _SPARK_SESSION = (
            SparkSession.builder.master("local[2]")
            .appName("jikimi-linkage")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.driver.memory", "4g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        _SPARK_SESSION.sparkContext.setLogLevel("ERROR")
        _SPARK_SESSION.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="jikimi-spark-"))
    return _SPARK_SESSION


def _spark_table(derived: pd.DataFrame) -> tuple[Any, Any]:
    from pyspark.sql import types as T
    from splink import SparkAPI

    spark = spark_session()
    columns = list(derived_columns(derived.attrs.get("extra_columns", ())))
    if "grp" in derived.columns:  # `ScoredPairs.within`
        columns.append("grp")
    string, strings, number = T.StringType(), T.ArrayType(T.StringType()), T.LongType()
    schema = T.StructType(
        [
            T.StructField(
                column,
                strings
                if column in ARRAY_COLUMNS
                else number
                if column in ("birth_year", "defection_year", "alias_source", "surname_odd", "grp")
                else string,
            )
            for column in columns
        ]
    )
    rows = [
        tuple(None if _is_missing(value) else _plain(value) for value in row)
        for row in derived[columns].itertuples(index=False, name=None)
    ]
    frame = spark.createDataFrame(rows, schema=schema)
    # Local mode: persist intermediate tables in memory rather than writing them to parquet.
    db_api = SparkAPI(
        spark_session=spark,
        register_udfs_automatically=False,
        break_lineage_method="persist",
        num_partitions_on_repartition=4,
    )
    # The session is shared and keeps its tables: each scoring registers under its own name.
    name = f"people_{next(_SPARK_TABLES)}"
    return db_api, db_api.register(frame, dataset_display_name=name)


_SPARK_TABLES = itertools.count(1)


def _is_missing(value: Any) -> bool:
    if isinstance(value, list):
        return False
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    return value
