"""Latent-class multiple-recapture (Manrique-Vallier 2016): a Dirichlet-process mixture of
independent lists, fitted by Gibbs sampling.

People fall into latent classes (truncated stick-breaking with ``K`` classes and concentration
``alpha ~ Gamma(a, b)``); within a class every list catches independently with probability
``lambda[j, k] ~ Beta(1, 1)``. Heterogeneous catchability, the usual reason independence models
under-count, is what the classes absorb. With the prior ``p(N) ∝ 1/N`` the number never listed
is negative binomial given the other parameters, so the whole sampler is conjugate.

The sampler works on capture *patterns* (at most ``2^k - 1`` of them) rather than on people:
the people with one pattern are split among classes by one multinomial draw, so an iteration
costs the same for 50 or 50,000 people. The kernel is compiled with numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .messages import CONVERGED, _
from .options import Progress
from .tables import CaptureTable


@numba.njit(cache=True)
def _multinomial_into(total, probs, out):
    """Split ``total`` among classes by sequential binomials (stops once nothing is left)."""
    remaining = total
    mass_left = 1.0
    kk = probs.shape[0]
    for k in range(kk - 1):
        if remaining == 0:
            out[k] = 0
            continue
        p = probs[k] / mass_left if mass_left > 0 else 0.0
        if p >= 1.0:
            draw = remaining
        elif p <= 0.0:
            draw = 0
        else:
            draw = np.random.binomial(remaining, p)
        out[k] = draw
        remaining -= draw
        mass_left -= probs[k]
    out[kk - 1] = remaining


@numba.njit(cache=True)
def _gibbs(patterns, counts, n_classes, a_alpha, b_alpha, burnin, samples, thin, seed):
    """The Gibbs sampler; returns the sampled totals N and concentrations alpha.

    One iteration: 1. split each pattern's people among classes in proportion to
    ``pi_k prod_j lambda^x (1 - lambda)^(1 - x)``; 2. draw the number never listed,
    ``n0 ~ NegBin(n, 1 - p0)`` with ``p0 = sum_k pi_k prod_j (1 - lambda_jk)``; 3. split them
    among classes in proportion to ``pi_k prod_j (1 - lambda_jk)``; 4. ``lambda_jk ~
    Beta(1 + caught, 1 + not caught)``; 5. stick-breaking weights ``V_k ~ Beta(1 + n_k,
    alpha + n_{>k})``; 6. ``alpha ~ Gamma(a + K - 1, b - sum log(1 - V_k))``.
    """
    np.random.seed(seed)
    n_patterns, n_lists = patterns.shape
    kk = n_classes
    n_obs = 0
    for p in range(n_patterns):
        n_obs += counts[p]
    lam = np.empty((n_lists, kk))
    for j in range(n_lists):
        for k in range(kk):
            lam[j, k] = np.random.beta(1.0, 1.0)
    alpha = 1.0
    pi = np.empty(kk)
    stick = 1.0
    for k in range(kk - 1):
        v = np.random.beta(1.0, alpha)
        pi[k] = stick * v
        stick *= 1.0 - v
    pi[kk - 1] = stick
    log_one_minus_v = np.zeros(kk)
    weights = np.empty(kk)
    draw = np.empty(kk, dtype=np.int64)
    class_size = np.empty(kk, dtype=np.int64)
    caught = np.empty((n_lists, kk), dtype=np.int64)
    miss_prob = np.empty(kk)
    out_n = np.empty(samples, dtype=np.int64)
    out_alpha = np.empty(samples)
    total_iter = burnin + samples * thin
    kept = 0
    for it in range(total_iter):
        class_size[:] = 0
        caught[:, :] = 0
        # 1. observed people, pattern by pattern
        for p in range(n_patterns):
            c = counts[p]
            if c == 0:
                continue
            total_w = 0.0
            for k in range(kk):
                w = pi[k]
                for j in range(n_lists):
                    if patterns[p, j] == 1:
                        w *= lam[j, k]
                    else:
                        w *= 1.0 - lam[j, k]
                weights[k] = w
                total_w += w
            for k in range(kk):
                weights[k] /= total_w
            _multinomial_into(c, weights, draw)
            for k in range(kk):
                d = draw[k]
                if d:
                    class_size[k] += d
                    for j in range(n_lists):
                        if patterns[p, j] == 1:
                            caught[j, k] += d
        # 2. the people on no list
        p0 = 0.0
        for k in range(kk):
            m = pi[k]
            for j in range(n_lists):
                m *= 1.0 - lam[j, k]
            miss_prob[k] = m
            p0 += m
        if p0 >= 1.0:
            p0 = 1.0 - 1e-12
        n0 = np.random.negative_binomial(n_obs, 1.0 - p0)
        # 3. their classes
        for k in range(kk):
            miss_prob[k] /= p0
        _multinomial_into(n0, miss_prob, draw)
        for k in range(kk):
            class_size[k] += draw[k]
        # 4. catch probabilities
        for j in range(n_lists):
            for k in range(kk):
                lam[j, k] = np.random.beta(1.0 + caught[j, k], 1.0 + class_size[k] - caught[j, k])
        # 5. stick-breaking weights
        above = 0
        for k in range(kk):
            above += class_size[k]
        stick = 1.0
        sum_log = 0.0
        for k in range(kk - 1):
            above -= class_size[k]
            v = np.random.beta(1.0 + class_size[k], alpha + above)
            if v > 1.0 - 1e-12:
                v = 1.0 - 1e-12
            pi[k] = stick * v
            stick *= 1.0 - v
            log_one_minus_v[k] = math.log(1.0 - v)
            sum_log += log_one_minus_v[k]
        pi[kk - 1] = stick
        # 6. concentration
        alpha = np.random.gamma(a_alpha + kk - 1, 1.0 / (b_alpha - sum_log))
        if alpha < 1e-6:
            alpha = 1e-6
        if it >= burnin and (it - burnin) % thin == thin - 1:
            out_n[kept] = n_obs + n0
            out_alpha[kept] = alpha
            kept += 1
    return out_n, out_alpha


@dataclass
class LcmcrPosterior:
    totals: np.ndarray
    alphas: np.ndarray
    rhat: float
    ess: float

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.totals, q))


def split_rhat(draws: np.ndarray, chains: int = 4) -> float:
    """Split-R-hat (Gelman et al.) of one chain cut into ``chains`` pieces; near 1 is good."""
    m = len(draws) // chains
    if m < 2:
        return math.nan
    pieces = np.log(draws[: m * chains].astype(float)).reshape(chains, m)
    within = pieces.var(axis=1, ddof=1).mean()
    between = m * pieces.mean(axis=1).var(ddof=1)
    if within <= 0:
        return math.nan
    var_plus = (m - 1) / m * within + between / m
    return float(math.sqrt(var_plus / within))


def effective_sample_size(draws: np.ndarray) -> float:
    """ESS from the autocorrelations, summed while consecutive pairs stay positive (Geyer)."""
    x = np.log(draws.astype(float))
    x = x - x.mean()
    n = len(x)
    var = x @ x / n
    if var <= 0:
        return float(n)
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n] / (n * var)
    total = 0.0
    for lag in range(1, n - 1, 2):
        pair = acf[lag] + acf[lag + 1]
        if pair < 0:
            break
        total += pair
    return float(n / (1 + 2 * total))


def sample(
    table: CaptureTable,
    classes: int = 10,
    a: float = 0.25,
    b: float = 0.25,
    burnin: int = 10_000,
    samples: int = 1_000,
    thin: int = 100,
    seed: int = 12345,
) -> LcmcrPosterior:
    """Run the sampler (LCMCR's defaults: K=10, a=b=0.25, 10,000 burn-in, 1,000 draws thinned
    by 100) and compute the convergence diagnostics on ``log N``."""
    if classes < 1 or burnin < 0 or samples < 10 or thin < 1:
        raise ValueError(_("need classes >= 1, burnin >= 0, samples >= 10, thin >= 1"))
    patterns = np.ascontiguousarray(table.patterns, dtype=np.int64)
    counts = np.ascontiguousarray(table.counts, dtype=np.int64)
    totals, alphas = _gibbs(
        patterns,
        counts,
        int(classes),
        float(a),
        float(b),
        int(burnin),
        int(samples),
        int(thin),
        int(seed) % (2**32),
    )
    return LcmcrPosterior(totals, alphas, split_rhat(totals), effective_sample_size(totals))


DEFAULTS = {"classes": 10, "a": 0.25, "b": 0.25, "burnin": 10_000, "samples": 1_000, "thin": 100}
# A chain an eighth as long as the defaults, for the many small tables of a stratified run in
# the app: LCMCR's own example settings (1,000 draws thinned by 10) after a shorter burn-in.
QUICK = {"burnin": 2_000, "samples": 1_000, "thin": 10}


def converged(post: LcmcrPosterior) -> bool:
    """The convergence check on log N: split R-hat below 1.05 and at least 100 effective draws."""
    return post.rhat < 1.05 and post.ess >= 100


def estimate(
    table: CaptureTable,
    level: float = 0.95,
    seed: int = 12345,
    progress: Progress | None = None,
    **opts,
):
    """Posterior median and equal-tailed credible interval, with the convergence check.

    With ``quick=True`` (strata in the app) the sampler first runs the short chain ``QUICK``
    (12,000 iterations instead of 110,000); if that chain fails the convergence check, the
    default chain is run instead, so a quick result is never one the check flags.
    ``progress`` hears of each chain as it starts, by its share of the iterations (the chain
    itself is one compiled loop; it is not interrupted).
    """
    from .services import Estimate

    settings: dict[str, Any] = {
        name: type(default)(opts[name]) if opts.get(name) is not None else default
        for name, default in DEFAULTS.items()
    }
    quick = bool(opts.get("quick")) and not any(opts.get(n) is not None for n in QUICK)
    post = None
    if quick:
        if progress is not None:
            progress(0.0, "quick_sampling")
        post = sample(table, seed=seed, **{**settings, **QUICK})
        if converged(post):
            settings.update(QUICK)
        else:
            post = None
    if post is None:
        if progress is not None:
            quick_share = _iterations({**settings, **QUICK}) if quick else 0
            progress(quick_share / (quick_share + _iterations(settings)), "sampling")
        post = sample(table, seed=seed, **settings)
    alpha = 1 - level
    diagnostic = {"rhat": f"{post.rhat:.3f}", "ess": f"{post.ess:.0f}", "draws": len(post.totals)}
    if converged(post):
        warning = CONVERGED % diagnostic
    else:
        warning = (
            _(
                "the sampler may not have converged (MCMC convergence check on log N: split "
                "R-hat %(rhat)s, effective sample size %(ess)s of %(draws)d draws); run longer "
                "(--burnin, --samples, --thin) and compare seeds"
            )
            % diagnostic
        )
    model = (
        f"latent classes (Dirichlet-process mixture, K={settings['classes']}, "
        f"a={settings['a']:g}, b={settings['b']:g}), {settings['burnin']} burn-in, "
        f"{settings['samples']} draws thinned by {settings['thin']}, seed {seed}; posterior "
        "median, equal-tailed interval"
    )
    return Estimate(
        method="lcmcr",
        lists=list(table.lists),
        observed=table.observed,
        estimate=float(np.median(post.totals)),
        interval=(post.quantile(alpha / 2), post.quantile(1 - alpha / 2)),
        level=level,
        model=model,
        warnings=[warning],
        details={
            "rhat": post.rhat,
            "ess": post.ess,
            "iterations": _iterations(settings),
            "converged": converged(post),
            "settings": dict(settings),
            "seed": seed,
        },
    )


def _iterations(settings: dict) -> int:
    return settings["burnin"] + settings["samples"] * settings["thin"]
