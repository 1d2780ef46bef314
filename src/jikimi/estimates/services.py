"""Population-size estimation service: one entry point for the command, the API and tests.

``estimate_population(table, method=..., level=..., seed=..., **opts)`` returns an
:class:`Estimate` carrying the point estimate, its interval, the method and model used, and
every warning a reader of the number should see. Nothing here touches Django or a database.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import loglinear
from .loglinear import NoFiniteEstimate
from .messages import _
from .options import DEFAULT_SEED, METHODS, Progress  # re-exported: callers import them here
from .tables import CaptureTable


class EstimationInputError(ValueError):
    """An option is out of range (the command exits 2). ``args[0]``: an engine message."""


@dataclass
class Estimate:
    """The estimate and everything needed to read it honestly (the JSON contract of DESIGN §8)."""

    method: str
    lists: list[str]
    observed: int
    estimate: float
    interval: tuple[float, float]
    level: float
    model: str
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # method-specific extras, not in the JSON

    def to_json_dict(self) -> dict:
        data = asdict(self)
        data.pop("details")

        def tidy(value: float) -> float | None:
            return None if not math.isfinite(value) else round(float(value), 1)

        data["estimate"] = tidy(self.estimate)
        data["interval"] = [tidy(self.interval[0]), tidy(self.interval[1])]
        return data


def _drop_empty_lists(table: CaptureTable) -> tuple[CaptureTable, list[str]]:
    """A list nobody is on says nothing about the dark figure; drop it (and say so)."""
    totals = table.list_totals()
    if totals.all():
        return table, []
    keep = [i for i in range(table.k) if totals[i] > 0]
    dropped = [table.lists[i] for i in range(table.k) if totals[i] == 0]
    if len(keep) < 2:
        raise NoFiniteEstimate(
            _(
                "no finite estimate exists: only %(n)d list(s) have anyone on them (empty: "
                "%(empty)s); at least two overlapping lists are needed"
            )
            % {"n": len(keep), "empty": ", ".join(dropped)}
        )
    from .tables import table_from_counts

    counts: dict[tuple[int, ...], int] = {}
    for pattern, count in zip(table.patterns, table.counts, strict=True):
        key = tuple(int(pattern[i]) for i in keep)
        if any(key):
            counts[key] = counts.get(key, 0) + int(count)
    reduced = table_from_counts([table.lists[i] for i in keep], counts)
    return reduced, [
        _("list(s) %(lists)s have no one on them and were left out") % {"lists": ", ".join(dropped)}
    ]


def estimate_population(
    table: CaptureTable,
    method: str = "stepwise",
    level: float = 0.95,
    seed: int | None = None,
    progress: Progress | None = None,
    **opts,
) -> Estimate:
    """Estimate the total population (observed plus never listed) from a capture table.

    Steps: 1. check the options; 2. drop lists with no one on them; 3. the existence check for
    the independence model (no finite estimate: raise :class:`NoFiniteEstimate` naming the
    lists that fail to overlap); 4. run the chosen method; 5. add the general warnings.

    Options: ``stepwise``: ``p_threshold`` (0.02), ``rule`` (``"pvalue"``, SparseMSE's code and
    the default, or ``"aic"``: see ``loglinear.stepwise``), ``bootstrap`` (replicates for a BCa
    interval, 0 for the Wald interval); ``bma``: ``delta``, ``prior`` (``"inverse"`` or
    ``"negbin"`` with ``prior_a``/``prior_b``), ``grid_max``; ``lcmcr``: ``classes``, ``a``,
    ``b``, ``burnin``, ``samples``, ``thin``, ``quick`` (the short chain when it passes the
    convergence check, see ``lcmcr.estimate``).

    ``progress(fraction, stage)``, when given, hears how far the long methods are (bootstrap
    replicates, the BMA grid, the LCMCR chains); it changes no number.
    """
    if method not in METHODS:
        raise EstimationInputError(
            _("unknown method %(method)s; choose one of %(choices)s")
            % {"method": repr(method), "choices": ", ".join(METHODS)}
        )
    if not (0.0 < level < 1.0):
        raise EstimationInputError(
            _("level must be between 0 and 1, got %(level)s") % {"level": level}
        )
    seed = DEFAULT_SEED if seed is None else int(seed)
    table, warnings = _drop_empty_lists(table)
    loglinear.require_finite_estimate(table)

    if method == "independence":
        fit = loglinear.fit_model(table, ())
        result = _from_fit("independence", fit, level)
    elif method == "stepwise":
        p_threshold = float(opts.get("p_threshold", 0.02))
        rule = opts.get("rule") or "pvalue"
        try:
            loglinear.require_rule(rule)
        except ValueError as exc:
            raise EstimationInputError(*exc.args) from None
        fit = loglinear.stepwise(table, p_threshold, check_first=False, rule=rule)
        result = _from_fit("stepwise", fit, level)
        result.details["rule"] = rule
        result.details["p_threshold"] = p_threshold
        if rule == "aic":
            result.model += f"; terms chosen by lowest AIC among those with p < {p_threshold:g}"
        replicates = int(opts.get("bootstrap", 0) or 0)
        if replicates:
            interval, details = loglinear.bca_interval(
                table, fit.estimate, replicates, level, seed, p_threshold, rule, progress
            )
            result.details["wald_interval"] = result.interval
            result.details["bootstrap"] = details
            result.interval = interval
            result.details.update(interval="bca", replicates=replicates, seed=seed)
            result.model += f"; BCa bootstrap interval, {replicates} replicates, seed {seed}"
            if details["failed"]:
                result.warnings.append(
                    _(
                        "%(failed)d of %(replicates)d bootstrap tables had no finite estimate "
                        "(counted as infinite)"
                    )
                    % {"failed": details["failed"], "replicates": replicates}
                )
        else:
            result.model += "; Wald interval on log(dark figure), conditional on the model"
    elif method == "bic":
        fit = loglinear.best_bic(table)
        result = _from_fit("bic", fit, level)
        result.model += "; Wald interval on log(dark figure), conditional on the model"
    elif method == "bma":
        from . import bma

        result = bma.estimate(table, level=level, progress=progress, **opts)
    else:
        from . import lcmcr

        result = lcmcr.estimate(table, level=level, seed=seed, progress=progress, **opts)

    result.warnings[:0] = warnings
    _general_warnings(table, result)
    return result


def _from_fit(method: str, fit: loglinear.LoglinearFit, level: float) -> Estimate:
    return Estimate(
        method=method,
        lists=list(fit.table.lists),
        observed=fit.table.observed,
        estimate=fit.estimate,
        interval=fit.wald_interval(level),
        level=level,
        model=fit.describe(),
        warnings=list(fit.warnings),
        details={
            "aic": fit.aic,
            "bic": fit.bic,
            "terms": fit.terms,
            "empty_terms": fit.empty_terms,
            "interval": "wald",
        },
    )


def _general_warnings(table: CaptureTable, result: Estimate) -> None:
    """Warnings any reader of an MSE figure should see, whatever the method."""
    if result.estimate > 10 * table.observed:
        result.warnings.append(
            _(
                "the estimate is more than ten times the number observed: the lists overlap "
                "little and the figure rests heavily on the model"
            )
        )
    lo, hi = result.interval
    if math.isfinite(hi) and hi > 3 * max(lo, 1.0):
        result.warnings.append(_("the interval is very wide: treat the point estimate as rough"))
    if np.count_nonzero(table.counts) < len(table.counts) / 2:
        result.warnings.append(
            _(
                "more than half the capture patterns have no one in them: sparse data, "
                "estimates depend strongly on the method"
            )
        )
