"""Linking person-record files (`jikimi link`): read, derive, train, score, cluster."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jikimi.linkage import engine
from jikimi.linkage.engine import DEFAULT_THRESHOLD, LinkInputError


@dataclass
class LinkResult:
    clusters: pd.DataFrame  # record_id, cluster_id (every record)
    pairs: pd.DataFrame  # record_id_l, record_id_r, match_probability
    model: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cluster_count(self) -> int:
        return int(self.clusters["cluster_id"].nunique())


def link_records(
    paths: Sequence[str | Path],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    backend: str = "duckdb",
    all_pairs: bool = False,
    model: dict[str, Any] | None = None,
    progress: bool = True,
    extra_columns: Sequence[str] = (),
) -> LinkResult:
    """Read, validate, derive, train (unless `model` is given), score and cluster.

    Raises LinkInputError (naming file, row and column) before any work on bad input.
    `all_pairs` keeps every scored pair; otherwise only pairs at or above the threshold.
    `extra_columns`: identifier columns beyond DESIGN §8's to compare too (see
    `engine.derive_columns`); a given `model` brings its own.
    """
    if not 0.0 < threshold < 1.0:
        raise LinkInputError([f"--threshold: must be between 0 and 1, got {threshold}"])
    if backend not in ("duckdb", "spark"):
        raise LinkInputError([f"--backend: must be duckdb or spark, got {backend!r}"])
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if model is not None:
        extra_columns = model.get("extra_columns", ())
    records = engine.read_records(paths, extra_columns)
    timings["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    bar = engine.stderr_progress(len(records.frame), "deriving") if progress else None
    derived = engine.derive_columns(
        records,
        bar,
        alias_sources=model.get("alias_sources") if model else None,
        extra_columns=extra_columns,
    )
    timings["derive"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if model is None:
        model = engine.train_model(derived)
        timings["train"] = time.perf_counter() - mark
    model = {**model, "threshold": threshold}
    mark = time.perf_counter()
    scored = engine.score_pairs(
        derived,
        model,
        backend=backend,
        floor=None if all_pairs else threshold,
        sources=pd.Series(
            records.frame["source"].str.strip().to_numpy(),
            index=records.frame["record_id"].to_numpy(),
        ),
    )
    if scored.priors is not None:
        # Saved with the model for the record of this run (`competition`); refitted on the
        # records of every run, never read back.
        model["source_priors"] = {
            "splink_prior": scored.priors.base,
            "iterations": scored.priors.iterations,
            "by_sources": [
                {"sources": list(pair), "prior": prior}
                for pair, prior in sorted(scored.priors.priors.items())
            ],
        }
    pairs = scored.to_pandas(None if all_pairs else threshold)
    timings["predict"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clusters = engine.cluster_scored(derived["record_id"].tolist(), scored, threshold)
    timings["cluster"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return LinkResult(
        clusters=clusters, pairs=pairs, model=model, warnings=records.warnings, timings=timings
    )
