"""The Splink model: settings from the comparison spec (`spec.py`) and the blocking rules,
the DuckDB connection, and training on the data itself (EM)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jikimi.linkage import spec
from jikimi.linkage.blocking import _prediction_blocking_rules, blocking_extra_columns
from jikimi.linkage.features import extra_column

MODEL_FORMAT_VERSION = 2  # 2: alias_sources and the given-name alias level
DUCKDB_MEMORY_LIMIT = os.environ.get("JIKIMI_DUCKDB_MEMORY_LIMIT", "3GB")
ALIAS_LEVEL_LABEL = spec.ALIAS_LEVEL_LABEL

log = logging.getLogger(__name__)


def _comparisons(extra_columns: Sequence[str] = ()) -> list[Any]:
    """The Splink comparisons of the spec (`spec.py`, also the in-app scorer's), with one for
    each extra identifier column's key."""
    return spec.splink_comparisons([extra_column(column) for column in extra_columns])


def settings_creator(
    extra_columns: Sequence[str] = (), blocking_columns: Sequence[str] = ()
) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=_comparisons(extra_columns),
        blocking_rules_to_generate_predictions=_prediction_blocking_rules(blocking_columns),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
    )


def duckdb_api() -> Any:
    """Splink's DuckDB backend on an in-memory connection whose progress bar is off (DuckDB
    prints it to stdout, which is the command's output); our own bar goes to stderr."""
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET preserve_insertion_order = false")
    # Joins and aggregations beyond this spill to disk, which keeps a million-record run's peak
    # memory (with the pandas frames next to it) well under 8 GB.
    spill = Path(tempfile.gettempdir()) / "jikimi-duckdb"
    spill.mkdir(exist_ok=True)
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{spill.as_posix()}'")
    return DuckDBAPI(connection=connection)


def _silence_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train_model(derived: pd.DataFrame, *, seed: int = 42) -> dict[str, Any]:
    """Train on the data itself (EM) in DuckDB; return the versioned model JSON (a dict)."""
    from splink import Linker, block_on

    _silence_splink()
    db_api = duckdb_api()
    table = db_api.register(_to_splink_frame(derived), dataset_display_name="people")
    extra_columns = list(derived.attrs.get("extra_columns", []))
    blocking_columns = blocking_extra_columns(derived, extra_columns)
    linker = Linker(
        table, settings_creator(extra_columns, blocking_columns), log_level=logging.ERROR
    )
    n = len(derived)
    # The rule can only find pairs where both records have every column it uses: scale its
    # recall on complete pairs (0.8) by the chance that a pair is complete, or λ (and with it
    # every probability) collapses when birth dates are mostly missing.
    deterministic = ("surname_group", "given_key", "birth_year")
    complete = float(np.prod([derived[c].notna().mean() ** 2 for c in deterministic]))
    recall = min(1.0, max(0.8 * complete, 0.005))
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*deterministic)], recall=recall
        )
    except ValueError as exc:
        # More rule matches than that recall allows (small files): use the smallest it allows.
        floor = re.search(r"recall must be at least ([0-9.]+)", str(exc))
        if floor is None:
            raise
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*deterministic)], recall=min(1.0, float(floor.group(1).rstrip(".")) + 0.01)
        )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(1e6, max(1e5, n * 20)), seed=seed
    )
    # EM samples records (by a hash of the id) so that training stays bounded at any size.
    max_pairs = 5e5
    # Two sessions, each blind to the columns it blocks on: names train the other fields
    # and birth date trains the names. The second uses the first rule whose columns the data
    # has (FEBRL-like files have no sex or province).
    #
    # The full birth date trains the names best: within its block most pairs that share a
    # surname are the same person, so EM sees how often one person's given names disagree
    # (aliases); within year+sex+province such a pair looks like two strangers of one surname
    # and EM learned that given names almost never disagree (m 0.013 instead of 0.12 on
    # "typical", F1 0.920 → 0.944). When few records have a full date (under
    # FULL_DATE_TRAINING_SHARE) its block is too small and unrepresentative: missing_90
    # fell from 0.67 to 0.37 with it, so year+sex+province trains the names there.
    names_rules = [("birth_year", "sex", "province_code"), ("birth_year", "county_key")]
    if derived["birth_full"].notna().mean() >= FULL_DATE_TRAINING_SHARE:
        names_rules = [("birth_full",), *names_rules]
    else:
        names_rules = [*names_rules, ("birth_full",)]
    for candidates in ([("surname_group", "given_key")], names_rules):
        # A rule that gives no pairs makes Splink raise mid-session (and leave the session's
        # comparisons switched off), so check the data first.
        usable = [c for c in candidates if derived.dropna(subset=list(c)).duplicated(list(c)).any()]
        if usable:
            _expectation_maximisation(linker, block_on(*usable[0]), max_pairs)
        else:
            log.warning("no pairs to train on for %s; keeping earlier estimates", candidates)
    splink_model = linker.misc.save_model_to_json()
    # EM can drive an unobserved level's m towards 0 (e.g. 1e-316), which Splink refuses to
    # load back; a tiny floor keeps the model loadable and changes no decision.
    for comparison in splink_model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if key in level and level[key] is not None:
                    level[key] = max(float(level[key]), 1e-12)
        _agreement_never_against(comparison["comparison_levels"])
    return {
        "format": "jikimi.linkage.model",
        "version": MODEL_FORMAT_VERSION,
        "alias_sources": list(derived.attrs.get("alias_sources", [])),
        "extra_columns": extra_columns,
        "extra_blocking_columns": blocking_columns,
        "splink_version": _splink_version(),
        "trained_on_records": n,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "splink_model": splink_model,
    }


FULL_DATE_TRAINING_SHARE = 0.4


def _agreement_never_against(levels: list[dict[str, Any]]) -> None:
    """Full agreement on a field never counts against a match, and outright disagreement
    never for one: EM can learn either where the field is only ever compared between records
    that are never the same person. On the field lists only case files carry a county, and no
    case file holds anyone twice, so "same county" came out at −37 bits: a registry with a
    person entered twice would then never link the two. Such a level gets m = u (0 bits).
    The first level after the null one is full agreement and the last one disagreement, in
    every comparison of `spec`."""
    scored = [lv for lv in levels if not lv.get("is_null_level")]
    if len(scored) < 2:
        return
    first, last = scored[0], scored[-1]
    # A level random sampling never met has no u (Splink leaves it out of the model), one
    # no match reached in EM no m: nothing to compare (missing_90 of `synthetic` has both).
    if {"m_probability", "u_probability"} <= first.keys():
        first["m_probability"] = max(first["m_probability"], first["u_probability"])
    if {"m_probability", "u_probability"} <= last.keys():
        last["m_probability"] = min(last["m_probability"], last["u_probability"])


def _expectation_maximisation(linker: Any, rule: Any, max_pairs: float | None) -> None:
    """One EM session; if a level's m underflows (a level no match ever reaches, e.g. a year
    off by one in clean data), Splink 5 raises mid-EM: retry with fewer iterations."""
    from splink.internals.settings import TrainingSettings

    convergence = linker._settings_obj.training_settings.em_convergence
    # A session takes the comparisons its rule blocks on out of the model and changes λ in
    # place; if it raises, they stay out (seed 1 of "typical" lost the birth date and λ became
    # 0.39: precision 0.50). Each attempt starts from a copy taken before.
    before = linker._settings_obj.core_model_settings.copy()
    for iterations in (20, 8, 3):
        linker._settings_obj.core_model_settings = before.copy()
        linker._settings_obj.training_settings = TrainingSettings(convergence, iterations)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=max_pairs
            )
            return
        except ValueError as exc:
            if "below the minimum allowed" not in str(exc):
                raise
    linker._settings_obj.core_model_settings = before
    log.warning("EM on %s did not converge; keeping earlier estimates", rule)


def _splink_version() -> str:
    import splink

    return str(splink.__version__)


def _to_splink_frame(derived: pd.DataFrame) -> pd.DataFrame:
    frame = derived.copy()
    for column in ("birth_year", "defection_year", "grp"):
        if column in frame.columns:  # NaN, not pd.NA, for every engine
            frame[column] = frame[column].astype("float64")
    return frame
