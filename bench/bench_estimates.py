"""Speed of the estimates methods; each benchmark prints one JSON line.

Run: ``.venv/bin/python bench/bench_estimates.py``. Limits from the issue, with the R timings
recorded in ``shared/data/mse/README.md`` / ``reference_estimates.csv`` for comparison.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from jikimi.estimates import bma, lcmcr, loglinear  # noqa: E402
from jikimi.estimates.tables import read_capture_csv  # noqa: E402

SHARED = Path(
    os.environ.get("JIKIMI_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")
)
MSE = SHARED.resolve() / "data" / "mse"


def report(name: str, seconds: float, limit: float, reference: str, **extra) -> None:
    line = {
        "benchmark": name,
        "seconds": round(seconds, 4),
        "limit_seconds": limit,
        "within_limit": seconds <= limit,
        "r_reference": reference,
        **extra,
    }
    print(json.dumps(line), flush=True)


def best_of(func, repeat: int = 5) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    uk6 = read_capture_csv(MSE / "sparsemse_UKdat.csv")
    uk5 = read_capture_csv(MSE / "sparsemse_UKdat_5.csv")

    # 1. stepwise on six lists (cold caches each time: a fresh table object, cleared LP cache)
    def stepwise_cold():
        loglinear._lp_mle_exists.cache_clear()
        return loglinear.stepwise(uk6)

    seconds, fit = best_of(stepwise_cold)
    report(
        "stepwise_uk_6_lists",
        seconds,
        0.2,
        "SparseMSE estimatepopulation.0 (R): under 1 s",
        estimate=round(fit.estimate, 1),
    )

    # 2. BCa bootstrap, 1,000 replicates + jackknife, UK 5 lists
    loglinear._lp_mle_exists.cache_clear()
    start = time.perf_counter()
    point = loglinear.stepwise(uk5).estimate
    interval, _ = loglinear.bca_interval(uk5, point, replicates=1000, seed=1234)
    report(
        "bca_bootstrap_1000_uk_5_lists",
        time.perf_counter() - start,
        10.0,
        "SparseMSE estimatepopulation nboot=1000: 44-168 s (168 s on UK 5 lists)",
        interval=[round(v, 1) for v in interval],
    )

    # 3. model averaging over the 822 decomposable graphs on 5 lists, graph enumeration included
    bma.decomposable_graphs.cache_clear()
    start = time.perf_counter()
    result = bma.estimate(uk5)
    report(
        "bma_decomposable_graphs_uk_5_lists",
        time.perf_counter() - start,
        2.0,
        "dga bma.cr, Nmissing 0..20n: up to 29 s",
        estimate=result.estimate,
        interval=list(result.interval),
        grid_max=result.details["grid_max"],
    )

    # 4. latent-class sampler: 100,000 iterations on six lists (after a tiny compile-warming run)
    start = time.perf_counter()
    lcmcr.sample(uk6, burnin=1, samples=10, thin=1)
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    post = lcmcr.sample(uk6, burnin=0, samples=1000, thin=100, seed=12345)
    report(
        "lcmcr_100k_iterations_uk_6_lists",
        time.perf_counter() - start,
        4.0,
        "LCMCR (C++) 110,000 iterations: 1.7 s (UK 5) - 3.8 s (Kosovo)",
        compile_or_cache_load_seconds=round(compile_seconds, 2),
        median=float(post.quantile(0.5)),
    )


if __name__ == "__main__":
    main()
