"""Source-aware match probabilities: a prior for each pair of sources, and candidates that
compete for one record (issue #13).

Splink scores each pair alone, with one prior for every pair of the file (the probability
that two random records match). Two facts of multi-source lists are lost that way:

1. **Sources differ.** A case-file registry or an NGO list rarely holds one person twice, so
   two records of one source are far less likely to match than a record of one source and a
   record of another. One prior for all pairs is too high for the first and too low for the
   second.
2. **Candidates compete.** A record of one list is at most one person, and that person has at
   most one record in another list that holds no one twice. When "Lee Ju-sun 1969" of a case
   file has two candidates in an NGO list, "Ri Ju-sun 1969" and "Ri Ju-son 1968" (a
   near-namesake), scored alone both look likely; together they cannot both be her. Each
   pair's odds are shared out among the candidates (`_propagate`), the evidence of a pair
   without rivals (a name-only record whose one candidate is one letter off) keeps its
   weight, and the pair of a near-namesake loses what its rival takes.

The model (fitted on each run, unsupervised; `fit`): a pair of records a ∈ S, b ∈ T has
odds λ(S,T)·L(a,b), L being Splink's likelihood ratio (its match weight without its prior).
For S ≠ T, a has at most one match in T and b at most one in S: a bipartite matching
between each two sources. Its marginals — P(a ~ b) over every matching the scored pairs
allow — are computed by belief propagation (`_propagate`, the Bethe approximation): each
pair's odds times how free a is of its other candidates in T and b of its other candidates
in S, a rival counting only as far as it is not taken by a record of its own. A first-order
version of it,

    P(a ~ b) = o(a,b) / (1 + Σ_{c ∈ T} o(a,c) + Σ_{d ∈ S} o(d,b) − o(a,b)),

was used before (issue #13, fourth pass); it counts a rival whole even when another record
explains it, so two namesakes who each have a record in two lists (2 × 2 candidates) came
out at a third each instead of a half. Pairs within one source keep the plain o / (1 + o).
λ(S,T) is found by expectation–maximisation from M, the expected number of matches (the
sum of the posteriors) among the N pairs of S × T (`_prior`), repeated until it settles.
On the field-list generator this drove the within-source priors to 0.01–0.05 of Splink's;
F1 rose by 0.02–0.035 on every tuning seed and at 100,000 records (docs/linkage.md).

With records of a single source nothing changes: the probabilities are Splink's.
Only pairs at or above `FIT_FLOOR` are fitted on (lower ones change no sum that matters),
and a pair scored later (`ScoredPairs.within`) is adjusted with the rivals found then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Pairs below this raw probability are left out of the fit (their odds are < 0.001 each).
FIT_FLOOR = 0.001
_MAX_ITERATIONS = 50
#: Belief-propagation passes per step of the prior's fit, and at most after it, until no
#: pair's freedom moves by more than `_SETTLED` (relative) (`_propagate`).
_SWEEPS = 2
_FINAL_SWEEPS = 200
_SETTLED = 1e-10
_BITS_CLIP = 80.0


@dataclass(frozen=True)
class _Coded:
    """Record ids and sources as integers (a million records, tens of millions of pairs)."""

    records: pd.Index  # every record id
    source_of: np.ndarray  # per record: its source's code
    n_sources: int

    def encode(self, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(left record, right record, left source, right source) codes of each pair."""
        left = self.records.get_indexer(pairs["record_id_l"].to_numpy(object))
        right = self.records.get_indexer(pairs["record_id_r"].to_numpy(object))
        if (left < 0).any() or (right < 0).any():
            raise ValueError("a pair names a record without a source")
        return left, right, self.source_of[left], self.source_of[right]

    def pair_key(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The unordered pair of sources, one integer."""
        return np.minimum(a, b).astype(np.int64) * self.n_sources + np.maximum(a, b)

    def rival_key(self, record: np.ndarray, other_source: np.ndarray) -> np.ndarray:
        """A record and the other source its rivals are in, one integer."""
        return record.astype(np.int64) * self.n_sources + other_source


@dataclass(frozen=True)
class SourcePriors:
    """The fitted priors and each record's rivals; `apply` adjusts scored pairs."""

    base: float  # Splink's prior (the probability two random records match)
    priors: Mapping[tuple[str, str], float]  # λ per unordered pair of sources
    coded: _Coded
    prior_by_key: pd.Series  # pair-of-sources key → λ
    #: rival key → Σ of its pairs' messages (`_propagate`): how much of the record its
    #: candidates in that source claim.
    into_keys: pd.Series
    #: (left, right record code) key → the pair's freedom at both ends: the pairs fitted on.
    fitted: pd.Series
    iterations: int

    @property
    def max_ratio(self) -> float:
        """The largest prior against Splink's: how far a probability can rise."""
        return max([1.0, *(p / self.base for p in self.priors.values())])

    def apply(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """`pairs` (record_id_l, record_id_r, match_weight) with `match_probability` replaced
        by the source-aware posterior."""
        if pairs.empty:
            return pairs.assign(match_probability=pd.Series(dtype=float))
        left, right, source_l, source_r = self.coded.encode(pairs)
        prior = (
            self.prior_by_key.reindex(self.coded.pair_key(source_l, source_r))
            .fillna(self.base)
            .to_numpy(float)
        )
        odds = _odds(pairs["match_weight"].to_numpy(float), self.base, prior)
        cross = source_l != source_r
        # A pair fitted on keeps the freedom propagation gave it; a pair scored later meets
        # the claims of the fitted pairs on its two records.
        fitted = self.fitted.reindex(_record_pair_key(left, right)).to_numpy(float)
        claimed_l = self.into_keys.reindex(self.coded.rival_key(left, source_r)).fillna(0.0)
        claimed_r = self.into_keys.reindex(self.coded.rival_key(right, source_l)).fillna(0.0)
        later = 1.0 / ((1.0 + claimed_l.to_numpy(float)) * (1.0 + claimed_r.to_numpy(float)))
        free = np.where(np.isnan(fitted), later, fitted)
        posterior = odds * np.where(cross, free, 1.0)
        return pairs.assign(match_probability=posterior / (1.0 + posterior))

    def raw_floor(self, threshold: float) -> float:
        """The raw probability below which no pair reaches `threshold` after `apply`."""
        odds = threshold / (1.0 - threshold) / self.max_ratio
        return odds / (1.0 + odds)


def _prior(
    expected: np.ndarray,
    totals: np.ndarray,
    n_low: np.ndarray,
    n_high: np.ndarray,
    same: np.ndarray,
) -> np.ndarray:
    """λ of each pair of sources from its expected matches M among its N pairs.

    Within one source: λ = M / (N − M). Across sources S, T (sizes n_S, n_T): a record of S
    has a match in T with probability π = M / n_S, and then it is any one of n_T records, so
    its odds for one candidate are π / (n_T (1 − π)) = M / (N − M n_T); seen from T, M / (N −
    M n_S). The posterior normalises over both sides' rivals: λ is the geometric mean."""
    within = expected / np.maximum(totals - expected, 1.0)
    from_low = expected / np.maximum(totals - expected * n_high, 1.0)
    from_high = expected / np.maximum(totals - expected * n_low, 1.0)
    return np.where(same, within, np.sqrt(from_low * from_high))


def _propagate(
    odds: np.ndarray,
    codes_l: np.ndarray,
    codes_r: np.ndarray,
    n_keys: int,
    free: tuple[np.ndarray, np.ndarray] | None = None,
    sweeps: int = _SWEEPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Belief propagation for "each record at most one match in each other source".

    Each cross-source pair is on or off; each (record, other source) — a rival key — allows
    at most one of its pairs on. The message from a key to one of its pairs is how free the
    record is for it, 1 / (1 + Σ the other pairs' messages into the key); a pair's message
    into a key is its odds times how free its other record is. The pair's posterior odds
    are its odds times both ends' freedom (the Bethe approximation of the matching's
    marginals). One pass from all-free is the first-order formula o / (1 + o + rivals);
    more passes let a rival that another record explains compete less, and a record that
    two others claim count as half taken. Damped by half in log space: without it the
    passes oscillate.

    `free`: (left, right) freedom of each pair from an earlier call, to start from.
    Returns (Σ messages into each key, left freedom, right freedom)."""

    def claims(free_l: np.ndarray, free_r: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each pair's message into its left and right key, and Σ messages per key."""
        into_l, into_r = odds * free_r, odds * free_l
        total = np.bincount(codes_l, into_l, n_keys) + np.bincount(codes_r, into_r, n_keys)
        return into_l, into_r, total

    if free is None:
        free_l, free_r = np.ones_like(odds), np.ones_like(odds)
    else:
        free_l, free_r = free
    for sweep in range(sweeps):
        into_l, into_r, total = claims(free_l, free_r)
        new_l = 1.0 / (1.0 + np.maximum(total[codes_l] - into_l, 0.0))
        new_r = 1.0 / (1.0 + np.maximum(total[codes_r] - into_r, 0.0))
        if sweep == 0 and free is None:
            free_l, free_r = new_l, new_r
            continue
        new_l, new_r = np.sqrt(free_l * new_l), np.sqrt(free_r * new_r)
        moved = max(
            float(np.max(np.abs(new_l / free_l - 1.0), initial=0.0)),
            float(np.max(np.abs(new_r / free_r - 1.0), initial=0.0)),
        )
        free_l, free_r = new_l, new_r
        if moved < _SETTLED:
            break
    return claims(free_l, free_r)[2], free_l, free_r


def _record_pair_key(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.minimum(left, right).astype(np.int64) * (1 << 31) + np.maximum(left, right)


def _odds(weights: np.ndarray, base: float, prior: np.ndarray) -> np.ndarray:
    """λ·L from Splink's match weight (log2 of its prior odds plus log2 L)."""
    bits = weights - np.log2(base / (1.0 - base)) + np.log2(prior / (1.0 - prior))
    return np.power(2.0, np.clip(bits, -_BITS_CLIP, _BITS_CLIP))


@dataclass(frozen=True)
class Coding:
    """The records and sources of a run as integers (`coding`), for `fit_coded`."""

    coded: _Coded
    names: np.ndarray  # source code → source

    def table(self) -> pd.DataFrame:
        """record_id, record (its code), source (its source's code): to join in the backend,
        so a million records' pairs come out as integers, not strings."""
        return pd.DataFrame(
            {
                "record_id": self.coded.records.to_numpy(object),
                "record": np.arange(len(self.coded.records), dtype=np.int64),
                "source": self.coded.source_of.astype(np.int64),
            }
        )


def coding(sources: pd.Series) -> Coding | None:
    """The run's records and sources as integers; None with fewer than two sources."""
    source_codes, source_names = pd.factorize(sources.astype(str).to_numpy(object))
    if len(source_names) < 2:
        return None
    coded = _Coded(pd.Index(sources.index.astype(str)), source_codes, len(source_names))
    return Coding(coded, np.asarray(source_names, dtype=object))


def fit(pairs: pd.DataFrame, sources: pd.Series, base: float) -> SourcePriors | None:
    """Fit the priors on scored pairs (record_id_l, record_id_r, match_weight) of records
    whose source is `sources` (record_id → source). None with fewer than two sources: then
    the probabilities stay Splink's."""
    codes = coding(sources)
    if codes is None or pairs.empty:
        return None
    left, right, _, _ = codes.coded.encode(pairs)
    return fit_coded(left, right, pairs["match_weight"].to_numpy(float), codes, base)


def fit_coded(
    left: np.ndarray, right: np.ndarray, weights: np.ndarray, codes: Coding, base: float
) -> SourcePriors | None:
    """`fit` on pairs given as record codes (`Coding.table`), in any orientation."""
    if not len(left):
        return None
    coded, source_names = codes.coded, codes.names
    counts = np.bincount(coded.source_of, minlength=len(source_names))
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    source_l, source_r = coded.source_of[left], coded.source_of[right]
    cross = source_l != source_r
    # One key space for both sides: a record is on the left of some pairs, the right of others.
    sides, rival_keys = pd.factorize(
        np.concatenate([coded.rival_key(left, source_r), coded.rival_key(right, source_l)])
    )
    codes_l, codes_r = sides[: len(left)], sides[len(left) :]
    n_keys = len(rival_keys)
    pair_codes, pair_keys = pd.factorize(coded.pair_key(source_l, source_r))
    low, high = np.divmod(np.asarray(pair_keys, dtype=np.int64), len(source_names))
    totals = np.where(low == high, counts[low] * (counts[low] - 1) / 2, counts[low] * counts[high])
    priors = np.full(len(pair_keys), base)
    free: tuple[np.ndarray, np.ndarray] | None = None
    iterations = 0
    while iterations < _MAX_ITERATIONS:
        iterations += 1
        odds = _odds(weights, base, priors[pair_codes])
        crossing = np.where(cross, odds, 0.0)
        _, free_l, free_r = _propagate(crossing, codes_l, codes_r, n_keys, free)
        free = (free_l, free_r)
        posterior_odds = odds * np.where(cross, free_l * free_r, 1.0)
        posterior = posterior_odds / (1.0 + posterior_odds)
        expected = np.bincount(pair_codes, weights=posterior, minlength=len(pair_keys))
        # A prior of 0 would never recover: keep every pair of sources above a tiny floor.
        updated = np.clip(
            _prior(expected, totals, counts[low], counts[high], low == high), 1e-12, 0.5
        )
        # Settled when no prior moves by 0.01%, or by less than 0.1% of Splink's prior: a
        # pair of sources with no matches decays towards 0 for ever, and changes nothing.
        settled = np.allclose(updated, priors, rtol=1e-4, atol=base * 1e-3)
        priors = updated
        if settled:
            break
    odds = _odds(weights, base, priors[pair_codes])
    crossing = np.where(cross, odds, 0.0)
    into_keys, free_l, free_r = _propagate(
        crossing, codes_l, codes_r, n_keys, free, sweeps=_FINAL_SWEEPS
    )
    by_pair = {
        (str(source_names[a]), str(source_names[b])): float(prior)
        for a, b, prior in zip(low, high, priors, strict=True)
    }
    return SourcePriors(
        base=base,
        priors=by_pair,
        coded=coded,
        prior_by_key=pd.Series(priors, index=np.asarray(pair_keys, dtype=np.int64)),
        into_keys=pd.Series(into_keys, index=np.asarray(rival_keys, dtype=np.int64)),
        fitted=pd.Series(
            np.where(cross, free_l * free_r, 1.0), index=_record_pair_key(left, right)
        ),
        iterations=iterations,
    )
