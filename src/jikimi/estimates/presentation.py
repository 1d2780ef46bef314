"""How an estimate reads on the analyst page, in the reader's language.

The engine describes its model in English for the command and the JSON (``Estimate.model``:
"A + B + C + A:B; Wald interval on log(dark figure), conditional on the model"). The page
says the same from the estimate's ``details`` in Korean or English: the method's name, the
model, how the interval was made, and whether the interval is conditional on a model that
was chosen from the data (stepwise and best-BIC log-linear models: it leaves out the
uncertainty of that choice, so it is narrower than it should be).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .services import Estimate

METHOD_LABELS = {
    "stepwise": gettext_lazy("Stepwise log-linear (SparseMSE)"),
    "independence": gettext_lazy("Independence"),
    "bic": gettext_lazy("Best BIC log-linear model"),
    "bma": gettext_lazy("Bayesian model averaging (decomposable graphs)"),
    "lcmcr": gettext_lazy("Latent classes (LCMCR)"),
}
CHOSEN_MODEL = ("stepwise", "bic")  # log-linear models picked from the data


def method_label(method: str) -> str:
    return str(METHOD_LABELS.get(method, method))


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Description:
    method: str  # the method's name
    model: str  # what was fitted
    interval: str  # how the interval was made
    conditional: str  # a warning that the interval is conditional on a chosen model, or ""


def _loglinear(est: Estimate) -> tuple[str, str]:
    lists = est.lists
    terms = est.details.get("terms", ())
    pairs = [" × ".join(lists[i] for i in term) for term in terms]
    if pairs:
        model = _("Log-linear model: each list, with the interactions %(terms)s") % {
            "terms": ", ".join(pairs)
        }
    else:
        model = _("Log-linear model: each list, no interactions (the lists independent)")
    empty = est.details.get("empty_terms", ())
    if empty:
        model += "; " + _("lists that never overlap, fixed at zero: %(terms)s") % {
            "terms": ", ".join(" × ".join(lists[i] for i in t) for t in empty)
        }
    if est.details.get("rule") == "aic":
        model += "; " + _("terms chosen by lowest AIC among those with p < %(p)s") % {
            "p": _n(est.details.get("p_threshold", 0.02))
        }
    if est.details.get("interval") == "bca":
        interval = _("BCa bootstrap interval, %(n)s replicates, seed %(seed)s") % {
            "n": _n(est.details.get("replicates", 0)),
            "seed": est.details.get("seed", ""),
        }
    else:
        interval = _("Wald interval on the logarithm of the number never listed")
    return model, interval


def _bma(est: Estimate) -> tuple[str, str]:
    d = est.details
    prior = "1/N" if d.get("prior", "inverse") == "inverse" else _("negative binomial")
    model = _(
        "Average over %(graphs)s decomposable graphs (hyper-Dirichlet δ = %(delta)s; prior on "
        "the total: %(prior)s); the most probable graph %(best)s has posterior probability "
        "%(p)s"
    ) % {
        "graphs": _n(d.get("graphs", 0)),
        "delta": _n(d.get("delta", 0)),
        "prior": prior,
        "best": d.get("best_graph", ""),
        "p": f"{d.get('best_probability', 0):.2f}",
    }
    if d.get("grid_step", 1) > 1:
        model += "; " + _("totals on a grid in steps of %(step)s") % {"step": _n(d["grid_step"])}
    return model, _("posterior median, equal-tailed credible interval")


def _lcmcr(est: Estimate) -> tuple[str, str]:
    s = est.details.get("settings", {})
    model = _(
        "Latent classes (Dirichlet-process mixture, at most %(k)s classes, a = %(a)s, "
        "b = %(b)s); %(burnin)s burn-in iterations, %(samples)s draws thinned by %(thin)s, "
        "seed %(seed)s"
    ) % {
        "k": _n(s.get("classes", 0)),
        "a": _n(s.get("a", 0)),
        "b": _n(s.get("b", 0)),
        "burnin": _n(s.get("burnin", 0)),
        "samples": _n(s.get("samples", 0)),
        "thin": _n(s.get("thin", 0)),
        "seed": est.details.get("seed", ""),
    }
    return model, _("posterior median, equal-tailed credible interval")


def describe(est: Estimate) -> Description:
    """The method, model and interval of `est` in the active language."""
    if est.method in ("stepwise", "bic", "independence") and "terms" in est.details:
        model, interval = _loglinear(est)
    elif est.method == "bma" and "graphs" in est.details:
        model, interval = _bma(est)
    elif est.method == "lcmcr" and "settings" in est.details:
        model, interval = _lcmcr(est)
    else:  # an estimate from before these details were kept: the engine's own words
        model, interval = est.model, ""
    return Description(
        method_label(est.method),
        model,
        interval,
        conditional_note(est.method, bootstrap=est.details.get("interval") == "bca"),
    )


def conditional_note(method: str, *, bootstrap: bool = False) -> str:
    """What the interval of `method` is conditional on, when it is conditional on a model."""
    if bootstrap:
        return _(
            "The bootstrap repeats the choice of model on every resampled table, so this "
            "interval includes the uncertainty of that choice."
        )
    if method in CHOSEN_MODEL:
        return _(
            "Conditional on the chosen model: the model was selected from these data, and the "
            "interval leaves out the uncertainty of that choice, so it is narrower than it "
            "should be. Choose the bootstrap interval to include it."
        )
    if method == "independence":
        return _("Conditional on the independence model: the lists are assumed independent.")
    return ""
