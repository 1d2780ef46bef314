"""Bayesian model averaging over decomposable graphical models (Madigan & York 1997).

Each decomposable graph on the lists is a model for how lists depend on one another. Under a
hyper-Dirichlet prior (``delta`` prior people per cell of the full ``2^k`` table) the marginal
likelihood of a complete table factorises over the graph's cliques and separators, so for every
possible number ``m`` of people on no list the posterior weight of (graph, m) is

    log w(g, m) = sum_C L_C(m) - sum_S L_S(m) + log[(n + m)! / (m! prod n_i!)] + log prior(n + m)

with ``L_A(m) = sum_cells [lgamma(n_a + alpha_A) - lgamma(alpha_A)] + lgamma(delta 2^k)
- lgamma(n + m + delta 2^k)``, ``alpha_A = delta 2^(k - |A|)``, and ``m`` added to the cell of
``A``'s margin where every list in ``A`` is 0. The posterior of ``N = n + m`` averages over
graphs (uniform prior on graphs). The same quantities as the R package dga; written afresh.

The posterior of ``N`` can have a long right tail (dga's UK results double between a grid of
``0..5n`` and ``0..20n``), so the grid starts at ``0..20n``, is widened while more than a
negligible share of the posterior sits at its top, and a warning is given if it still does.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from .messages import _
from .options import Progress
from .tables import CaptureTable

MAX_LISTS = 6
# Every integer N, as dga sums over: 0..20n is exact up to n = 50,000 people observed. Only a
# grid widened past a million points (a posterior tail far beyond 20n) steps over values, and
# the model text then says by how many.
MAX_GRID_POINTS = 1_000_000
CHUNK = 2048  # grid columns per block: bounds memory at (graphs + subsets) x CHUNK
TAIL_SHARE = 0.05  # the top 5% of the grid ...
TAIL_MASS_LIMIT = 1e-3  # ... must hold less than 0.1% of the posterior


@dataclass(frozen=True)
class DecomposableGraph:
    edges: tuple[tuple[int, int], ...]
    cliques: tuple[int, ...]  # bitmasks of the lists in each maximal clique
    separators: tuple[int, ...]  # bitmasks of the non-empty separators


@dataclass
class BmaPosterior:
    """Posterior of the total population ``N`` and of the graphs."""

    totals: np.ndarray  # grid of N values
    mass: np.ndarray  # posterior probability of each grid value
    graphs: tuple[DecomposableGraph, ...]
    graph_probs: np.ndarray
    tail_mass: float
    step: int = 1  # grid spacing: 1 unless widened past MAX_GRID_POINTS

    def quantile(self, q: float) -> float:
        cdf = np.cumsum(self.mass)
        return float(self.totals[min(int(np.searchsorted(cdf, q)), len(cdf) - 1)])

    @property
    def median(self) -> float:
        return self.quantile(0.5)

    @property
    def mode(self) -> float:
        return float(self.totals[int(np.argmax(self.mass))])

    @property
    def bayes_relative_squared_error(self) -> float:
        """The Bayes estimator under loss ((N - a)/N)^2: E[1/N] / E[1/N^2] (Madigan & York)."""
        inv = 1.0 / self.totals
        return float((self.mass @ inv) / (self.mass @ inv**2))


def _maximal_cliques(k: int, adjacency: list[int]) -> list[int]:
    complete = []
    for mask in range(1, 1 << k):
        members = [v for v in range(k) if mask >> v & 1]
        if all(adjacency[v] & mask == mask & ~(1 << v) for v in members):
            complete.append(mask)
    return [c for c in complete if not any(c != o and c & o == c for o in complete)]


def _is_chordal(k: int, adjacency: list[int]) -> bool:
    """Eliminate simplicial vertices (neighbours pairwise adjacent) until none are left."""
    remaining = (1 << k) - 1
    while remaining:
        for v in range(k):
            if not remaining >> v & 1:
                continue
            nbrs = adjacency[v] & remaining
            if all(adjacency[u] & nbrs == nbrs & ~(1 << u) for u in range(k) if nbrs >> u & 1):
                remaining &= ~(1 << v)
                break
        else:
            return False
    return True


@lru_cache(maxsize=8)
def decomposable_graphs(k: int) -> tuple[DecomposableGraph, ...]:
    """All decomposable (chordal) graphs on ``k`` lists with their cliques and separators.

    Steps: 1. run through every edge set; 2. keep the chordal ones; 3. maximal cliques by
    brute force (at most 2^6 vertex sets); 4. separators from a maximum-weight spanning tree of
    the clique graph (weights = shared lists), which is a junction tree for a chordal graph.
    """
    all_edges = list(itertools.combinations(range(k), 2))
    graphs = []
    for chosen in itertools.product((0, 1), repeat=len(all_edges)):
        edges = tuple(e for e, on in zip(all_edges, chosen, strict=True) if on)
        adjacency = [0] * k
        for i, j in edges:
            adjacency[i] |= 1 << j
            adjacency[j] |= 1 << i
        if not _is_chordal(k, adjacency):
            continue
        cliques = _maximal_cliques(k, adjacency)
        # Prim's algorithm for a maximum-weight spanning tree over the cliques.
        in_tree = [cliques[0]]
        rest = cliques[1:]
        separators = []
        while rest:
            best = max(
                ((bin(a & b).count("1"), a & b, b) for a in in_tree for b in rest),
                key=lambda t: t[0],
            )
            if best[1]:
                separators.append(best[1])
            in_tree.append(best[2])
            rest.remove(best[2])
        graphs.append(DecomposableGraph(edges, tuple(cliques), tuple(separators)))
    return tuple(graphs)


@dataclass(frozen=True)
class _Margins:
    """What ``L_A(m)`` needs of the table, per list subset ``A`` (row ``A`` of each array)."""

    fixed: np.ndarray  # log-gamma terms of the observed cells of A's margin
    zero: np.ndarray  # A's margin count in its all-zero cell (the missed people join it)
    alpha: np.ndarray  # hyper-Dirichlet parameter of one cell of A's margin
    total_alpha: float
    observed: int


def _margins(table: CaptureTable, delta: float) -> _Margins:
    k = table.k
    full = table.to_array()
    fixed, zero, alpha = np.zeros(1 << k), np.zeros(1 << k), np.ones(1 << k)
    for mask in range(1, 1 << k):
        members = [v for v in range(k) if mask >> v & 1]
        others = tuple(v for v in range(k) if v not in members)
        cells = (full.sum(axis=others) if others else full).reshape(-1).astype(float)
        alpha[mask] = delta * 2 ** (k - len(members))
        fixed[mask] = special.gammaln(cells[1:] + alpha[mask]).sum() - (
            len(cells) - 1
        ) * special.gammaln(alpha[mask])
        zero[mask] = cells[0]
    return _Margins(fixed, zero, alpha, delta * 2**k, table.observed)


def _log_marginals(m: _Margins, missing: np.ndarray) -> np.ndarray:
    """``L_A(m)`` for every list subset ``A`` (bitmask row) and every grid value in ``missing``.

    Row 0 (the empty subset) stays 0: no graph uses it.
    """
    norm = special.gammaln(m.total_alpha) - special.gammaln(m.observed + missing + m.total_alpha)
    out = (
        m.fixed[:, None]
        + special.gammaln(m.zero[:, None] + missing[None, :] + m.alpha[:, None])
        - special.gammaln(m.alpha)[:, None]
        + norm[None, :]
    )
    out[0] = 0.0
    return out


def posterior(
    table: CaptureTable,
    delta: float | None = None,
    prior: str = "inverse",
    prior_a: float | None = None,
    prior_b: float | None = None,
    grid_min: int = 0,
    grid_max: int | None = None,
    adaptive: bool = True,
    progress: Progress | None = None,
) -> BmaPosterior:
    """Posterior of ``N`` averaged over all decomposable graphs.

    Steps: 1. enumerate the graphs; 2. lay a grid over the number missed, ``0..20n`` unless
    given, every integer (spaced only beyond MAX_GRID_POINTS points); 3. component log
    marginals, one row per list subset, a block of grid columns at a time; 4. graph weights by
    one matrix product (+1 per clique, -1 per separator);
    5. add the multinomial coefficient and the prior on ``N`` (``1/N``, or dga's negative
    binomial with ``prior_a``, ``prior_b``); 6. normalise; 7. if the top 5% of the grid holds more
    than 0.1% of the posterior, widen the grid fourfold (at most three times).
    """
    k = table.k
    if not 2 <= k <= MAX_LISTS:
        raise ValueError(
            _("model averaging over decomposable graphs supports 2 to %(max)d lists, not %(k)d")
            % {"max": MAX_LISTS, "k": k}
        )
    delta = 2.0**-k if delta is None else float(delta)
    if delta <= 0:
        raise ValueError(_("delta must be positive"))
    n = table.observed
    graphs = decomposable_graphs(k)
    coef = np.zeros((len(graphs), 1 << k))
    for g, graph in enumerate(graphs):
        for c in graph.cliques:
            coef[g, c] += 1.0
        for s in graph.separators:
            coef[g, s] -= 1.0
    upper = 20 * n if grid_max is None else int(grid_max)
    log_counts_fact = special.gammaln(table.counts + 1.0).sum()
    margins = _margins(table, delta)
    for _widening in range(4):
        step = max(1, math.ceil((upper - grid_min + 1) / MAX_GRID_POINTS))
        missing = np.arange(grid_min, upper + 1, step, dtype=float)
        totals = n + missing
        log_extra = special.gammaln(totals + 1) - special.gammaln(missing + 1) - log_counts_fact
        if prior == "inverse":
            log_extra -= np.log(totals)
        elif prior == "negbin":
            if prior_a is None or prior_b is None:
                raise ValueError("the negative binomial prior needs prior_a and prior_b")
            a, b = float(prior_a), float(prior_b)
            log_extra += (
                totals * math.log(b)
                - (totals + a) * math.log1p(b)
                + special.gammaln(totals + a)
                - special.gammaln(totals + 1)
                - special.gammaln(a)
            )
        else:
            raise ValueError(f"unknown prior {prior!r}")
        # Block by grid columns; keep per-graph and per-N log sums, normalise at the end.
        log_by_n = np.empty(len(missing))
        log_by_graph_blocks = []
        for start in range(0, len(missing), CHUNK):
            if progress is not None:
                # Each widening may be the last: it covers half of what is left, never back.
                done = 1 - 0.5**_widening + 0.5 ** (_widening + 1) * start / len(missing)
                progress(done, "grid")
            block = coef @ _log_marginals(margins, missing[start : start + CHUNK])
            block += log_extra[start : start + CHUNK]
            # One exp per cell, shared by both marginal sums (scipy's logsumexp would do two).
            top_value = block.max()
            weights = np.exp(block - top_value)
            with np.errstate(divide="ignore"):  # a graph with no weight in a block: log 0
                log_by_n[start : start + CHUNK] = np.log(weights.sum(axis=0)) + top_value
                log_by_graph_blocks.append(np.log(weights.sum(axis=1)) + top_value)
        log_total = special.logsumexp(log_by_n)
        mass = np.exp(log_by_n - log_total)
        graph_probs = np.exp(
            special.logsumexp(np.column_stack(log_by_graph_blocks), axis=1) - log_total
        )
        top = totals >= totals[0] + (1 - TAIL_SHARE) * (totals[-1] - totals[0])
        tail = float(mass[top].sum())
        if not adaptive or grid_max is not None or tail <= TAIL_MASS_LIMIT:
            break
        upper *= 4
    return BmaPosterior(totals, mass, graphs, graph_probs, tail, step)


def describe_graph(graph: DecomposableGraph, lists) -> str:
    return "".join(
        "[" + ",".join(lists[v] for v in range(len(lists)) if c >> v & 1) + "]"
        for c in graph.cliques
    )


def estimate(table: CaptureTable, level: float = 0.95, progress: Progress | None = None, **opts):
    """Model-averaged posterior median and equal-tailed credible interval as an Estimate."""
    from .services import Estimate

    delta = opts.get("delta")
    post = posterior(
        table,
        delta=delta,
        prior=opts.get("prior", "inverse"),
        prior_a=opts.get("prior_a"),
        prior_b=opts.get("prior_b"),
        grid_min=int(opts.get("grid_min", 0)),
        grid_max=opts.get("grid_max"),
        progress=progress,
    )
    delta = 2.0**-table.k if delta is None else delta
    alpha = 1 - level
    best = int(np.argmax(post.graph_probs))
    warnings: list[str] = []
    if post.tail_mass > TAIL_MASS_LIMIT:
        warnings.append(
            _(
                "%(share)s of the posterior lies in the top 5%% of the grid (N up to %(top)s): "
                "the upper limit is not pinned down by the data"
            )
            % {"share": f"{post.tail_mass:.2%}", "top": f"{post.totals[-1]:,.0f}"}
        )
    prior_text = "1/N" if opts.get("prior", "inverse") == "inverse" else "negative binomial"
    model = (
        f"average over {len(post.graphs)} decomposable graphs (hyper-Dirichlet delta={delta:g}, "
        f"prior on N {prior_text}); most probable {describe_graph(post.graphs[best], table.lists)}"
        f" (posterior {post.graph_probs[best]:.2f}); posterior median, equal-tailed interval"
    )
    if post.step > 1:
        model += f"; grid of N in steps of {post.step}"
    return Estimate(
        method="bma",
        lists=list(table.lists),
        observed=table.observed,
        estimate=post.median,
        interval=(post.quantile(alpha / 2), post.quantile(1 - alpha / 2)),
        level=level,
        model=model,
        warnings=warnings,
        details={
            "mode": post.mode,
            "bayes_relative_squared_error": post.bayes_relative_squared_error,
            "tail_mass": post.tail_mass,
            "grid_max": float(post.totals[-1]),
            "grid_step": post.step,
            "graphs": len(post.graphs),
            "delta": delta,
            "prior": opts.get("prior", "inverse"),
            "best_graph": describe_graph(post.graphs[best], table.lists),
            "best_probability": float(post.graph_probs[best]),
        },
    )
