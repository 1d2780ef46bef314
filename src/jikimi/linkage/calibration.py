"""Monotone recalibration of match probabilities (issue #13: "pairs scored 0.9 are right about
90 % of the time").

EM fits m and u on unlabelled data, and the Fellegi–Sunter sum assumes the fields independent;
its probabilities are therefore ordered well but not calibrated (on the field-lists generator
under-confident between 0.1 and 0.7, slightly over-confident at the top). A calibration is an
isotonic regression (pool-adjacent-violators) of the observed outcome on the match weight
(log2 odds), fitted on labelled pairs — the generator's truth on the tuning seeds for the
benchmark, the review queue's human decisions in the application (`fit_from_reviews`, only
once there are `MIN_DECISIONS` of them). It keeps the order of the pairs (monotone), so it
changes no ranking; between its knots it interpolates linearly in the weight.

Outside the range of weights it was fitted on (the review queue only sees pairs between the
two thresholds) a calibration has no evidence: there the raw probability is kept, clipped so
that the mapping stays monotone. Knots are pooled to at least `MIN_BLOCK` pairs so that one
odd pair does not make a step.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Decisions the review queue needs before its calibration is used.
MIN_DECISIONS = 200
#: Fewest pairs in one knot of the fitted curve.
MIN_BLOCK = 20
_EPS = 1e-6


def _weight(p: Any) -> Any:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log2(p / (1 - p))


@dataclass(frozen=True)
class Calibration:
    """Knots (match weight in bits, calibrated probability), both non-decreasing."""

    weights: tuple[float, ...]
    probabilities: tuple[float, ...]
    pairs: int  # labelled pairs it was fitted on

    def apply(self, probabilities: Iterable[float] | Any) -> np.ndarray:
        raw = np.atleast_1d(np.asarray(list(probabilities), dtype=float))
        w = _weight(raw)
        xs, ys = np.asarray(self.weights), np.asarray(self.probabilities)
        out = np.interp(w, xs, ys)
        below, above = w < xs[0], w > xs[-1]
        out[below] = np.minimum(raw[below], ys[0])
        out[above] = np.maximum(raw[above], ys[-1])
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "isotonic",
            "pairs": self.pairs,
            "knots": [
                [round(w, 6), round(p, 6)]
                for w, p in zip(self.weights, self.probabilities, strict=True)
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Calibration | None:
        if not data or data.get("method") != "isotonic" or not data.get("knots"):
            return None
        knots = [(float(w), float(p)) for w, p in data["knots"]]
        return cls(
            tuple(k[0] for k in knots), tuple(k[1] for k in knots), int(data.get("pairs", 0))
        )


def fit(
    probabilities: Sequence[float], outcomes: Sequence[bool], *, min_block: int = MIN_BLOCK
) -> Calibration:
    """Isotonic regression of `outcomes` (True: the same person) on the match weight."""
    if len(probabilities) != len(outcomes) or not probabilities:
        raise ValueError("need as many outcomes as probabilities, and at least one")
    w = _weight(probabilities)
    order = np.argsort(w, kind="stable")
    w, y = w[order], np.asarray(outcomes, dtype=float)[order]
    # Initial blocks of at least `min_block` pairs (ties kept together), then PAV.
    blocks: list[list[float]] = []  # [sum_y, count, sum_w]
    i, n = 0, len(w)
    while i < n:
        j = min(i + min_block, n)
        while j < n and w[j] == w[j - 1]:
            j += 1
        if n - j < min_block:
            j = n
        blocks.append([float(y[i:j].sum()), float(j - i), float(w[i:j].sum())])
        i = j
    merged: list[list[float]] = []
    for block in blocks:
        merged.append(block)
        while len(merged) > 1 and merged[-2][0] / merged[-2][1] >= merged[-1][0] / merged[-1][1]:
            top = merged.pop()
            merged[-1] = [merged[-1][k] + top[k] for k in range(3)]
    knots_w = [b[2] / b[1] for b in merged]
    knots_p = [min(max(b[0] / b[1], _EPS), 1 - _EPS) for b in merged]
    return Calibration(tuple(knots_w), tuple(knots_p), n)


def reliability(
    probabilities: Sequence[float], outcomes: Sequence[bool], bins: Sequence[float] | None = None
) -> list[dict[str, float | int]]:
    """Per bin of probability: pairs, mean predicted probability, observed share of true pairs."""
    edges = list(bins or (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0))
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    out = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        inside = (p >= lo) & ((p <= hi) if k == len(edges) - 2 else (p < hi))
        if inside.any():
            out.append(
                {
                    "from": lo,
                    "to": hi,
                    "pairs": int(inside.sum()),
                    "mean_probability": round(float(p[inside].mean()), 4),
                    "observed": round(float(y[inside].mean()), 4),
                }
            )
    return out


def expected_calibration_error(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Pair-weighted mean |predicted − observed| over the reliability bins."""
    curve = reliability(probabilities, outcomes)
    total = sum(int(b["pairs"]) for b in curve)
    if not total:
        return math.nan
    return (
        sum(
            int(b["pairs"]) * abs(float(b["mean_probability"]) - float(b["observed"]))
            for b in curve
        )
        / total
    )


def fit_from_reviews(
    min_decisions: int = MIN_DECISIONS, items: Any = None
) -> tuple[Calibration | None, int]:
    """The calibration of the in-app scores fitted on the review queue's human decisions
    (confirmed: the same person; rejected: two people), or None while fewer than
    `min_decisions` items are decided; and how many decisions there are. `items` limits the
    items read (a queryset of ReviewItem: those of one organisation, `review.calibration_for`).
    Reads only each item's score and status, never a name. The queue only holds pairs between
    the two thresholds, so the fit says nothing outside them (`Calibration.apply` keeps the raw
    probability there)."""
    from jikimi.linkage.models import ReviewItem, ReviewStatus

    if items is None:
        items = ReviewItem.objects.all()
    rows = list(
        items.filter(status__in=[ReviewStatus.CONFIRMED, ReviewStatus.REJECTED])
        .order_by()
        .values_list("score", "status")
    )
    if len(rows) < min_decisions:
        return None, len(rows)
    outcomes = [status == ReviewStatus.CONFIRMED for _, status in rows]
    return fit([s for s, _ in rows], outcomes), len(rows)
