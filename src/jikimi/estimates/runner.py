"""The child process of a background estimate job: numbers only, no Django, no database.

The monitor (``jobs.job_pass``) counts the capture histories itself, then starts this in a
*spawned* process (never forked: no database connection may cross a fork, see
``jikimi.core.db``) with the tables to estimate. It sends back over a pipe, in order:
``("progress", fraction, stage)`` (at most every ``PROGRESS_SECONDS``),
``("outcome", position, (estimate, error))`` for each table, and ``("done",)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .loglinear import NoFiniteEstimate
from .options import Progress
from .services import Estimate, EstimationInputError, estimate_population
from .tables import CaptureTable

PROGRESS_SECONDS = 0.25

EstimateOutcome = tuple[Estimate | None, Exception | None]
Task = tuple[int, CaptureTable, dict]  # (position among the job's tables, table, options)


def compute_estimate(
    table: CaptureTable,
    method: str,
    level: float,
    seed,
    opts: dict,
    progress: Progress | None = None,
    engine: Callable[..., Estimate] = estimate_population,
) -> EstimateOutcome:
    """``engine`` (``estimate_population``) on a table, or the error that stopped it."""
    try:
        estimate = engine(table, method=method, level=level, seed=seed, progress=progress, **opts)
    except (NoFiniteEstimate, EstimationInputError, ValueError) as exc:
        return None, exc
    return estimate, None


def run(conn: Any, tasks: Sequence[Task], method: str, level: float, seed) -> None:
    """The child's entry point: estimate each task's table, reporting as it goes."""
    last = 0.0
    count = max(1, len(tasks))
    for done, (position, table, opts) in enumerate(tasks):

        def progress(fraction: float, stage: str, done: int = done) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS:
                last = now
                share = (done + min(max(fraction, 0.0), 1.0)) / count
                conn.send(("progress", share, stage))

        progress(0.0, "fit")
        outcome = compute_estimate(table, method, level, seed, opts, progress)
        conn.send(("outcome", position, outcome))
    conn.send(("done",))
    conn.close()
