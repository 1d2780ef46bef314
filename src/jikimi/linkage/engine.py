"""Probabilistic linkage of person records (DESIGN §6, §8) with Splink 5.

The flow: read and validate person-record CSVs (`recordfiles`) → derive ASCII comparison
columns once per distinct value (`features`, with `jikimi.lib.korean` and the one
person-record reader `jikimi.lib.records`) → train a Fellegi–Sunter model with EM on the data
itself (`model`: settings from the comparison spec `spec.py` and the blocking rules of
`blocking`) → score blocked pairs on a backend (`prediction`) → correlation clustering of
the scored pairs (`clustering`).

Training always runs in embedded DuckDB; scoring runs on DuckDB or Spark. The comparisons use
only exact matches, Levenshtein distances on ASCII, array intersections and integer
differences, which both engines compute identically, so one trained model gives the same
clusters on either backend. This module keeps the names callers use.
"""

from __future__ import annotations

from jikimi.linkage.blocking import _prediction_blocking_rules, blocking_extra_columns
from jikimi.linkage.clustering import (
    _clusters,
    _contract,
    cluster_records,
    cluster_scored,
)
from jikimi.linkage.defaults import DEFAULT_THRESHOLD
from jikimi.linkage.features import (
    ALIAS_MIN_EXCESS,
    ALIAS_MIN_PAIRS,
    ALIAS_MIN_Z,
    ALIAS_SAMPLE,
    DERIVED_COLUMNS,
    _name_columns,
    alias_prone_sources,
    county_key,
    derive_columns,
    derived_columns,
    extra_column,
)
from jikimi.linkage.model import (
    ALIAS_LEVEL_LABEL,
    DUCKDB_MEMORY_LIMIT,
    FULL_DATE_TRAINING_SHARE,
    MODEL_FORMAT_VERSION,
    _comparisons,
    _expectation_maximisation,
    duckdb_api,
    settings_creator,
    train_model,
)
from jikimi.linkage.prediction import (
    DENSE_GROUP_MAX,
    ScoredPairs,
    _predict,
    _with_dialect,
    predict_pairs,
    score_pairs,
    spark_session,
)
from jikimi.linkage.recordfiles import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    LinkInputError,
    Records,
    read_records,
    stderr_progress,
    write_csv_atomically,
    write_json_atomically,
)

__all__ = [
    "ALIAS_LEVEL_LABEL",
    "ALIAS_MIN_EXCESS",
    "ALIAS_MIN_PAIRS",
    "ALIAS_MIN_Z",
    "ALIAS_SAMPLE",
    "DEFAULT_THRESHOLD",
    "DENSE_GROUP_MAX",
    "DERIVED_COLUMNS",
    "DUCKDB_MEMORY_LIMIT",
    "FULL_DATE_TRAINING_SHARE",
    "MODEL_FORMAT_VERSION",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "LinkInputError",
    "Records",
    "ScoredPairs",
    "_clusters",
    "_comparisons",
    "_contract",
    "_expectation_maximisation",
    "_name_columns",
    "_predict",
    "_prediction_blocking_rules",
    "_with_dialect",
    "alias_prone_sources",
    "blocking_extra_columns",
    "cluster_records",
    "cluster_scored",
    "county_key",
    "derive_columns",
    "derived_columns",
    "duckdb_api",
    "extra_column",
    "predict_pairs",
    "read_records",
    "score_pairs",
    "settings_creator",
    "spark_session",
    "stderr_progress",
    "train_model",
    "write_csv_atomically",
    "write_json_atomically",
]
