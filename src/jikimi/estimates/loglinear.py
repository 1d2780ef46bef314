"""Poisson log-linear models for multiple systems estimation.

The observed capture patterns (all ``2^k - 1`` of them, zeros included) are modelled as
independent Poisson counts with ``log E[count] = X beta``. The intercept is the log of the
expected number of people on no list, so the population estimate is ``n + exp(beta_0)`` and the
Wald interval on the log of the dark figure is ``n + exp(beta_0 +- z se(beta_0))``.

Three model choices are implemented:

* the independence model (main effects only);
* stepwise selection of two-list interactions as in SparseMSE (Chan, Silverman & Vincent 2021),
  optionally with BCa bootstrap intervals;
* the hierarchical model with the lowest BIC (exhaustive for up to five lists, greedy beyond).

Before any model is fitted its maximum likelihood estimate is checked for existence with the
linear program of Fienberg & Rinaldo (2012), and for identifiability with a rank test.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import special

# numba (≈0.4 s to import, more to load the compiled code) and scipy.stats / scipy.optimize
# (≈0.5 s) are imported where they are used: a one-off estimate (`jikimi estimate FILE`) fits
# a handful of models, for which the NumPy Newton iterations below are as quick as loading
# the compiled ones; after _FITS_BEFORE_COMPILING fits in one process (a bootstrap, a BIC
# search, a simulation) the numba-compiled iterations take over.
from .messages import _
from .options import Progress
from .tables import CaptureTable

PROGRESS_EVERY = 10  # bootstrap replicates between two progress reports

Term = tuple[int, ...]  # an interaction: sorted indices of two or more lists


class NoFiniteEstimate(Exception):
    """The data cannot give a finite population estimate (the command exits 3).

    ``args[0]`` is the reason, as an engine message the app can translate.
    """


@dataclass
class LoglinearFit:
    """A fitted Poisson log-linear model and its dark-figure estimate."""

    table: CaptureTable
    terms: tuple[Term, ...]  # interactions with parameters in the fit
    empty_terms: tuple[Term, ...]  # two-list terms whose lists never overlap (cells dropped)
    cells: np.ndarray  # boolean mask over table.patterns: the cells used in the fit
    beta: np.ndarray
    cov: np.ndarray
    fitted: np.ndarray  # expected counts on the used cells
    loglik: float
    warnings: list[str] = field(default_factory=list)

    @property
    def n_params(self) -> int:
        # SparseMSE counts each empty-overlap parameter (fixed at -infinity) as a parameter.
        return len(self.beta) + len(self.empty_terms)

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.table.observed) * self.n_params

    @property
    def dark_figure(self) -> float:
        return float(math.exp(self.beta[0]))

    @property
    def estimate(self) -> float:
        return self.table.observed + self.dark_figure

    def wald_interval(self, level: float = 0.95) -> tuple[float, float]:
        """``n + exp(beta_0 +- z se)``: the Wald interval on the log of the dark figure."""
        z = special.ndtri(0.5 + level / 2.0)  # scipy.stats.norm.ppf is this ufunc
        se = math.sqrt(max(self.cov[0, 0], 0.0))
        n = self.table.observed
        return (n + math.exp(self.beta[0] - z * se), n + math.exp(self.beta[0] + z * se))

    def describe(self) -> str:
        names = self.table.lists
        parts = list(names) + [":".join(names[i] for i in t) for t in self.terms]
        text = " + ".join(parts)
        if self.empty_terms:
            empty = ", ".join(":".join(names[i] for i in t) for t in self.empty_terms)
            text += f" (empty overlaps fixed at zero: {empty})"
        return text


# ---------------------------------------------------------------------------------------------
# Design matrices, existence and identifiability


def design_matrix(patterns: np.ndarray, terms: tuple[Term, ...]) -> np.ndarray:
    """Columns: intercept, one main effect per list, one product column per interaction."""
    cols = [np.ones(len(patterns)), *patterns.T.astype(float)]
    for term in terms:
        cols.append(np.prod(patterns[:, list(term)], axis=1).astype(float))
    return np.column_stack(cols)


def _reduce_for_empty_overlaps(
    table: CaptureTable, terms: tuple[Term, ...]
) -> tuple[tuple[Term, ...], tuple[Term, ...], np.ndarray]:
    """Split two-list terms into fitted ones and empty-overlap ones, dropping the cells of the
    latter (SparseMSE's device: the parameter is -infinity, so those cells have mean zero)."""
    keep = np.ones(len(table.patterns), dtype=bool)
    fitted_terms: list[Term] = []
    empty_terms: list[Term] = []
    for term in terms:
        on_all = np.prod(table.patterns[:, list(term)], axis=1).astype(bool)
        if len(term) == 2 and int(table.counts[on_all].sum()) == 0:
            empty_terms.append(term)
            keep &= ~on_all
        else:
            fitted_terms.append(term)
    return tuple(fitted_terms), tuple(empty_terms), keep


@lru_cache(maxsize=65536)
def _lp_mle_exists(x_bytes: bytes, shape: tuple[int, int], support: bytes) -> bool:
    """Fienberg & Rinaldo's linear program, cached on (design, support of the counts).

    Existence of the MLE depends only on which cells are positive, so the sufficient statistics
    are those of the 0/1 support vector: maximise ``t`` subject to ``X' m = X' s``, ``m >= t``,
    ``m >= 0``. The MLE exists if and only if the optimum is positive (a strictly positive table
    with the observed margins exists).
    """
    x = np.frombuffer(x_bytes, dtype=float).reshape(shape)
    s = np.frombuffer(support, dtype=bool).astype(float)
    n_cells, n_par = shape
    c = np.zeros(n_cells + 1)
    c[-1] = -1.0
    a_eq = np.hstack([x.T, np.zeros((n_par, 1))])
    b_eq = x.T @ s
    a_ub = np.hstack([-np.eye(n_cells), np.ones((n_cells, 1))])
    b_ub = np.zeros(n_cells)
    from scipy import optimize

    res = optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible (m = s, t = 0)
        return False
    return -res.fun > 1e-7


def mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """Does the Poisson MLE for design ``x`` and counts ``y`` exist (all fitted means finite)?

    Steps: 1. all counts positive: it exists; 2. the design restricted to the positive cells has
    full column rank: no direction of recession, so it exists; 3. otherwise solve the LP.
    The first two are cheap and settle almost every case met in a bootstrap.
    """
    positive = y > 0
    if positive.all():
        return True
    if np.linalg.matrix_rank(x[positive]) == x.shape[1]:
        return True
    return _lp_mle_exists(np.ascontiguousarray(x).tobytes(), x.shape, positive.tobytes())


def check_model(table: CaptureTable, terms: tuple[Term, ...]) -> tuple[bool, bool]:
    """(MLE exists, parameters identifiable) for a model, after dropping empty overlaps."""
    fitted_terms, _, keep = _reduce_for_empty_overlaps(table, terms)
    x = design_matrix(table.patterns[keep], fitted_terms)
    # With all 2^k - 1 cells present and k >= 3, terms of up to k - 1 lists are columns of an
    # invertible matrix, so two-list models are of full rank; only dropped cells (empty
    # overlaps) or two lists with their interaction (4 parameters, 3 cells) can be deficient.
    full_rank_by_construction = (
        table.k >= 3 and bool(keep.all()) and all(len(t) == 2 for t in fitted_terms)
    )
    identifiable = full_rank_by_construction or bool(np.linalg.matrix_rank(x) == x.shape[1])
    exists = identifiable and bool(mle_exists(x, table.counts[keep]))
    return exists, identifiable


def explain_no_estimate(table: CaptureTable) -> str:
    """Say why the independence model has no finite estimate: which lists fail to overlap."""
    groups = table.overlap_components()
    totals = table.list_totals()
    empty = [name for name, total in zip(table.lists, totals, strict=True) if not total]
    if empty:
        return _("no one is on list(s) %(lists)s") % {"lists": ", ".join(empty)}
    if len(groups) > 1:
        sets = "; ".join("{" + ", ".join(g) + "}" for g in groups)
        return _(
            "the lists fall into groups that share no one, so nothing links them and the number "
            "missed is unbounded: %(groups)s"
        ) % {"groups": sets}
    pairs = [
        f"{table.lists[i]}/{table.lists[j]}" for (i, j), c in table.pair_overlaps().items() if not c
    ]
    if pairs:
        return _(
            "the lists overlap too little for a finite maximum likelihood estimate (pairs with "
            "no one in common: %(pairs)s)"
        ) % {"pairs": ", ".join(pairs)}
    return _("the lists overlap too little for a finite maximum likelihood estimate")


def require_finite_estimate(table: CaptureTable) -> None:
    """Before fitting: the existence check for the independence model (raises NoFiniteEstimate)."""
    exists, identifiable = check_model(table, ())
    if not (exists and identifiable):
        raise NoFiniteEstimate(
            _("no finite estimate exists for lists %(lists)s: %(reason)s")
            % {"lists": ", ".join(table.lists), "reason": explain_no_estimate(table)}
        )


# ---------------------------------------------------------------------------------------------
# Fitting


_FITS_BEFORE_COMPILING = 200
_fits_in_numpy = 0
_compiled_newton = None


def _newton_poisson_numpy(x, y, beta, max_iter):
    """The Newton-Raphson core in NumPy, step for step the compiled one below (the same
    sequential log-likelihood sums, the same LinAlgError on a non-finite system)."""
    with np.errstate(all="ignore"):
        eta = x @ beta
        mu = np.exp(eta)
        ll = _sequential_sum(y * eta - mu)
        converged = False
        info = (x.T * mu) @ x
        for _iteration in range(max_iter):
            grad = x.T @ (y - mu)
            if not (np.isfinite(info).all() and np.isfinite(grad).all()):
                raise np.linalg.LinAlgError("Array must not contain infs or NaNs.")
            step = np.linalg.solve(info, grad)
            beta_new = beta + step
            mu_new = mu
            for _halving in range(30):
                beta_new = beta + step
                eta_new = x @ beta_new
                mu_new = np.exp(np.minimum(eta_new, 700.0))
                ll_new = _sequential_sum(y * eta_new - mu_new)
                if ll_new >= ll - 1e-10 * (1.0 + abs(ll)):
                    break
                step = step / 2.0
            beta = beta_new
            mu = mu_new
            ll = ll_new
            info = (x.T * mu) @ x
            if np.max(np.abs(step)) < 1e-9 * (1.0 + np.max(np.abs(beta))):
                converged = True
                break
    return beta, info, mu, converged


def _sequential_sum(values: np.ndarray) -> float:
    """Left to right, as the compiled loop adds (numpy's sum is pairwise, Python's
    compensated)."""
    total = 0.0
    for v in values.tolist():
        total += v
    return total


def _newton_poisson(x, y, beta, max_iter):
    """NumPy for the first fits in a process, numba's compiled loop after them."""
    global _fits_in_numpy, _compiled_newton
    if _compiled_newton is None:
        if _fits_in_numpy < _FITS_BEFORE_COMPILING:
            _fits_in_numpy += 1
            return _newton_poisson_numpy(x, y, beta, max_iter)
        _compiled_newton = _compile_newton()
    return _compiled_newton(x, y, beta, max_iter)


def _compile_newton():
    import numba

    return numba.njit(cache=True)(_newton_poisson_compiled)


def _newton_poisson_compiled(x, y, beta, max_iter):
    """Newton-Raphson core compiled by numba (small dense matrices: per-call overhead dominates)."""
    n_cells, n_par = x.shape
    eta = x @ beta
    mu = np.exp(eta)
    ll = 0.0
    for i in range(n_cells):
        ll += y[i] * eta[i] - mu[i]
    converged = False
    info = (x.T * mu) @ x
    for _iteration in range(max_iter):
        grad = x.T @ (y - mu)
        step = np.linalg.solve(info, grad)
        beta_new = beta + step
        mu_new = mu
        for _halving in range(30):
            beta_new = beta + step
            eta_new = x @ beta_new
            mu_new = np.exp(np.minimum(eta_new, 700.0))
            ll_new = 0.0
            for i in range(n_cells):
                ll_new += y[i] * eta_new[i] - mu_new[i]
            if ll_new >= ll - 1e-10 * (1.0 + abs(ll)):
                break
            step = step / 2.0
        beta = beta_new
        mu = mu_new
        ll = ll_new
        info = (x.T * mu) @ x
        if np.max(np.abs(step)) < 1e-9 * (1.0 + np.max(np.abs(beta))):
            converged = True
            break
    return beta, info, mu, converged


def fit_poisson(
    x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Newton-Raphson for a Poisson GLM with log link.

    Steps: 1. start from least squares on ``log(y + 1/2)`` (or the given start); 2. Newton
    steps, halved whenever the log-likelihood would fall; 3. stop when the step is below 1e-9
    relative; 4. the covariance is the inverse Fisher information at the optimum
    (``cov.unscaled`` in R). Returns (beta, cov, fitted means, converged).
    """
    x = np.ascontiguousarray(x, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    if start is None:
        start = np.linalg.lstsq(x, np.log(y + 0.5), rcond=None)[0]
    try:
        beta, info, mu, converged = _newton_poisson(x, y, np.asarray(start, float), max_iter)
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        # A singular information matrix means the model is not identifiable on these cells.
        n_par = x.shape[1]
        return np.full(n_par, np.nan), np.full((n_par, n_par), np.nan), y * np.nan, False
    return beta, cov, mu, bool(converged)


def fit_model(
    table: CaptureTable, terms: tuple[Term, ...] = (), warm: LoglinearFit | None = None
) -> LoglinearFit:
    """Fit the log-linear model with main effects plus ``terms`` (empty overlaps dropped).

    ``warm``: a fit of a nested model whose coefficients start the Newton iterations (new terms
    start at zero), which saves about half the iterations in stepwise selection.
    """
    fitted_terms, empty_terms, keep = _reduce_for_empty_overlaps(table, tuple(terms))
    x = design_matrix(table.patterns[keep], fitted_terms)
    y = table.counts[keep]
    start = None
    if warm is not None:
        old = dict(zip(warm.terms, warm.beta[table.k + 1 :], strict=True))
        start = np.concatenate([warm.beta[: table.k + 1], [old.get(t, 0.0) for t in fitted_terms]])
    beta, cov, mu, converged = fit_poisson(x, y, start)
    loglik = float(y @ np.log(mu) - mu.sum() - special.gammaln(y + 1.0).sum())
    fit = LoglinearFit(table, fitted_terms, empty_terms, keep, beta, cov, mu, loglik)
    if not converged:
        fit.warnings.append(_("the Poisson fit did not converge; the estimate may be unreliable"))
    return fit


def independence(table: CaptureTable) -> LoglinearFit:
    """Main effects only: lists assumed independent and everyone equally catchable."""
    require_finite_estimate(table)
    return fit_model(table, ())


# ---------------------------------------------------------------------------------------------
# Stepwise selection (SparseMSE)


STEPWISE_RULES = ("pvalue", "aic")


def require_rule(rule: str) -> None:
    """Raise ValueError for a stepwise rule other than ``STEPWISE_RULES``."""
    if rule not in STEPWISE_RULES:
        raise ValueError(
            _("unknown stepwise rule %(rule)s; choose one of %(choices)s")
            % {"rule": repr(rule), "choices": ", ".join(STEPWISE_RULES)}
        )


def stepwise(
    table: CaptureTable,
    p_threshold: float = 0.02,
    check_first: bool = True,
    rule: str = "pvalue",
):
    """Forward stepwise selection of two-list interactions (Chan, Silverman & Vincent 2021).

    Steps: 1. fit main effects; 2. for each two-list term not yet in the model, compare the
    number of people on both lists with its Poisson mean under the current fit, giving a
    one-sided Poisson p-value; 3. the candidates are the terms with a p-value below
    ``p_threshold`` whose model passes the existence and identifiability checks; 4. add one
    candidate, refit and repeat until none is left.

    Which candidate is added in step 4 is the ``rule``:

    * ``"pvalue"`` (default): the one with the smallest p-value (ties: the first pair in list
      order). This is SparseMSE 2.0.1's ``stepwisefit``, the code that computed the reference
      values, and it reproduces them all.
    * ``"aic"``: the one whose refitted model has the lowest AIC (the wording of the issue and
      of the SparseMSE paper: "the interaction that lowers AIC most, p < 0.02"). It fits every
      candidate at every step, so it costs more.
    """
    require_rule(rule)
    if check_first:
        require_finite_estimate(table)
    k = table.k
    pairs = list(itertools.combinations(range(k), 2))
    on_pair = np.array([table.patterns[:, i] * table.patterns[:, j] for i, j in pairs])
    shared = on_pair @ table.counts
    included: list[Term] = []
    fit = fit_model(table, ())
    while len(included) < len(pairs):
        expected = on_pair[:, fit.cells] @ fit.fitted
        lower = special.pdtr(shared, expected)
        upper = np.where(shared > 0, special.pdtrc(shared - 1, expected), 1.0)
        p_values = np.minimum(lower, upper)
        order = sorted(
            (p, idx)
            for idx, p in enumerate(p_values)
            if pairs[idx] not in included and p < p_threshold
        )
        chosen: tuple[Term, LoglinearFit] | None = None
        for _p, idx in order:
            terms = (*included, pairs[idx])
            exists, identifiable = check_model(table, terms)
            if not (exists and identifiable):
                continue
            candidate = fit_model(table, terms, warm=fit)
            if rule == "pvalue":
                chosen = (pairs[idx], candidate)
                break
            if chosen is None or candidate.aic < chosen[1].aic - 1e-9:
                chosen = (pairs[idx], candidate)
        if chosen is None:
            break
        included.append(chosen[0])
        fit = chosen[1]
    return fit


def bca_interval(
    table: CaptureTable,
    point: float,
    replicates: int = 1000,
    level: float = 0.95,
    seed: int = 1234,
    p_threshold: float = 0.02,
    rule: str = "pvalue",
    progress: Progress | None = None,
) -> tuple[tuple[float, float], dict]:
    """BCa bootstrap interval for the stepwise estimate (Chan, Silverman & Vincent §3.3).

    Steps: 1. draw ``replicates`` multinomial tables of the observed size from the observed
    proportions and redo the whole stepwise selection on each; 2. jackknife: remove one person
    from each non-empty pattern in turn; 3. acceleration ``a`` from the count-weighted jackknife
    residuals, bias ``z0`` from the share of replicates below the point estimate; 4. read the
    adjusted percentiles off the replicates (Hyndman-Fan type 8 quantiles, as R does).
    ``progress(fraction, stage)`` is told how far the replicates and the jackknife are (it
    draws nothing from the generator, so the numbers are the same with or without it).
    """
    rng = np.random.default_rng(seed)
    n = table.observed
    probs = table.counts / n
    boot = np.empty(replicates)
    failed = 0
    cells = int(np.count_nonzero(table.counts))
    steps = replicates + cells
    for b in range(replicates):
        if progress is not None and b % PROGRESS_EVERY == 0:
            progress(b / steps, "bootstrap")
        sample = table.with_counts(rng.multinomial(n, probs))
        try:
            boot[b] = stepwise(sample, p_threshold, rule=rule).estimate
        except NoFiniteEstimate:
            boot[b] = math.inf
            failed += 1
    jack = np.zeros(len(table.counts))
    if progress is not None:
        progress(replicates / steps, "jackknife")
    for cell, count in enumerate(table.counts):
        if count > 0:
            reduced = table.counts.copy()
            reduced[cell] -= 1
            try:
                jack[cell] = stepwise(table.with_counts(reduced), p_threshold, rule=rule).estimate
            except NoFiniteEstimate:
                jack[cell] = math.inf
    weights = table.counts.astype(float)
    finite = np.isfinite(jack) | (weights == 0)
    if finite.all():
        resid = (weights @ jack) / weights.sum() - jack
        denom = 6.0 * (weights @ resid**2) ** 1.5
        accel = float((weights @ resid**3) / denom) if denom > 0 else 0.0
    else:
        accel = 0.0
    share_below = float(np.mean(boot < point))
    share_below = min(max(share_below, 0.5 / replicates), 1 - 0.5 / replicates)
    z0 = special.ndtri(share_below)  # norm.ppf and norm.cdf are scipy.special's ufuncs
    alpha = np.array([(1 - level) / 2, 1 - (1 - level) / 2])
    za = special.ndtri(alpha) + z0
    adjusted = special.ndtr(z0 + za / (1 - accel * za))
    finite_boot = np.where(np.isfinite(boot), boot, np.finfo(float).max)
    lo, hi = np.quantile(finite_boot, adjusted, method="median_unbiased")
    hi = math.inf if hi >= np.finfo(float).max else float(hi)
    details = {"replicates": replicates, "failed": failed, "acceleration": accel, "z0": z0}
    return (float(lo), hi), details


# ---------------------------------------------------------------------------------------------
# Best-BIC hierarchical model


def _all_terms(k: int, max_order: int) -> list[Term]:
    return [t for size in range(2, max_order + 1) for t in itertools.combinations(range(k), size)]


def hierarchical_models(k: int, max_order: int | None = None):
    """Every hierarchical model with all main effects and interactions up to ``max_order``.

    A term may be in the model only if every sub-term of one fewer list is; terms are decided
    in order of size, so a depth-first walk over include/exclude yields each model once.
    """
    max_order = k - 1 if max_order is None else max_order
    terms = _all_terms(k, max_order)

    def walk(idx: int, chosen: tuple[Term, ...], chosen_set: frozenset):
        if idx == len(terms):
            yield chosen
            return
        term = terms[idx]
        yield from walk(idx + 1, chosen, chosen_set)
        if len(term) == 2 or all(
            sub in chosen_set for sub in itertools.combinations(term, len(term) - 1)
        ):
            yield from walk(idx + 1, chosen + (term,), chosen_set | {term})

    yield from walk(0, (), frozenset())


def _fit_if_estimable(table: CaptureTable, terms: tuple[Term, ...], cache: dict):
    """Fit a hierarchical model on all cells, or None when its MLE does not exist."""
    if terms in cache:
        return cache[terms]
    x = design_matrix(table.patterns, terms)
    y = table.counts
    fit = None
    # A term whose lists never share anyone forces its parameter to -infinity: no MLE.
    margins_ok = all(int(np.prod(table.patterns[:, list(t)], axis=1) @ y) > 0 for t in terms)
    if margins_ok and np.linalg.matrix_rank(x) == x.shape[1] and mle_exists(x, y):
        beta, cov, mu, converged = fit_poisson(x, y)
        if converged and np.isfinite(cov[0, 0]):
            loglik = float(y @ np.log(mu) - mu.sum() - special.gammaln(y + 1.0).sum())
            fit = LoglinearFit(table, terms, (), np.ones(len(y), bool), beta, cov, mu, loglik)
    cache[terms] = fit
    return fit


def best_bic(table: CaptureTable, max_order: int | None = None) -> LoglinearFit:
    """The hierarchical log-linear model with the smallest BIC (``-2 log L + p log n``).

    Up to five lists every hierarchical model (interactions up to ``k - 1`` lists) is fitted;
    with six or more the space is too large and a greedy search adds or removes one term at a
    time (respecting the hierarchy) while BIC falls. Models without a finite MLE are skipped.
    """
    require_finite_estimate(table)
    k = table.k
    max_order = k - 1 if max_order is None else max_order
    cache: dict = {}
    warnings: list[str] = []
    best = None
    if k <= 5:
        for terms in hierarchical_models(k, max_order):
            fit = _fit_if_estimable(table, terms, cache)
            if fit is not None and (best is None or fit.bic < best.bic - 1e-9):
                best = fit
    else:
        all_terms = _all_terms(k, max_order)
        best = _fit_if_estimable(table, (), cache)
        improved = True
        while improved and best is not None:
            improved = False
            current = set(best.terms)
            moves = []
            for term in all_terms:
                if term in current:
                    # removable only if no larger term in the model contains it
                    if not any(set(term) < set(other) for other in current):
                        moves.append(tuple(t for t in best.terms if t != term))
                elif len(term) == 2 or all(
                    sub in current for sub in itertools.combinations(term, len(term) - 1)
                ):
                    moves.append(tuple(sorted(best.terms + (term,), key=lambda t: (len(t), t))))
            for terms in moves:
                fit = _fit_if_estimable(table, terms, cache)
                if fit is not None and fit.bic < best.bic - 1e-9:
                    best, improved = fit, True
        warnings.append(
            _(
                "with %(k)d lists the BIC search is greedy (one term added or removed at a time), "
                "not exhaustive"
            )
            % {"k": k}
        )
    if best is None:  # pragma: no cover - the independence model passed the check above
        raise NoFiniteEstimate(_("no hierarchical model has a finite estimate"))
    best.warnings.extend(warnings)
    return best
