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
   pair's odds are shared out among the candidates (`_posterior`), the evidence of a pair
   without rivals (a name-only record whose one candidate is one letter off) keeps its
   weight, and the pair of a near-namesake loses what its rival takes.

The model (fitted on each run, unsupervised; `fit`): a pair of records a ∈ S, b ∈ T has
odds λ(S,T)·L(a,b), L being Splink's likelihood ratio (its match weight without its prior).
For S ≠ T, a has at most one match in T and b at most one in S, so

    P(a ~ b) = o(a,b) / (1 + Σ_{c ∈ T} o(a,c) + Σ_{d ∈ S} o(d,b) − o(a,b))

over the scored candidates (the bipartite "at most one" model, the sums over both records'
rivals approximating its normaliser). Pairs within one source keep the plain o / (1 + o).
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
    rivals: pd.Series  # rival key → Σ odds of the record's candidates in that source
    fitted: pd.Series  # (left, right record code) key → odds: the pairs fitted on
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
        rival_l = self.rivals.reindex(self.coded.rival_key(left, source_r)).fillna(0.0)
        rival_r = self.rivals.reindex(self.coded.rival_key(right, source_l)).fillna(0.0)
        # The pair's own odds are in both sums when it was fitted on.
        own = self.fitted.reindex(_record_pair_key(left, right)).fillna(0.0).to_numpy(float)
        others = np.maximum(rival_l.to_numpy(float) + rival_r.to_numpy(float) - 2 * own, 0.0)
        probability = np.where(cross, odds / (1.0 + odds + others), odds / (1.0 + odds))
        return pairs.assign(match_probability=probability)

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
    codes_l, rival_keys_l = pd.factorize(coded.rival_key(left, source_r))
    codes_r, rival_keys_r = pd.factorize(coded.rival_key(right, source_l))
    pair_codes, pair_keys = pd.factorize(coded.pair_key(source_l, source_r))
    low, high = np.divmod(np.asarray(pair_keys, dtype=np.int64), len(source_names))
    totals = np.where(low == high, counts[low] * (counts[low] - 1) / 2, counts[low] * counts[high])
    priors = np.full(len(pair_keys), base)
    iterations = 0
    while iterations < _MAX_ITERATIONS:
        iterations += 1
        odds = _odds(weights, base, priors[pair_codes])
        crossing = np.where(cross, odds, 0.0)
        sum_l = np.bincount(codes_l, weights=crossing, minlength=len(rival_keys_l))
        sum_r = np.bincount(codes_r, weights=crossing, minlength=len(rival_keys_r))
        posterior = np.where(
            cross, odds / (1.0 + sum_l[codes_l] + sum_r[codes_r] - odds), odds / (1.0 + odds)
        )
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
    rivals = pd.concat(
        [
            pd.Series(np.bincount(codes_l, crossing, len(rival_keys_l)), index=rival_keys_l),
            pd.Series(np.bincount(codes_r, crossing, len(rival_keys_r)), index=rival_keys_r),
        ]
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
        rivals=rivals.groupby(level=0).sum(),
        fitted=pd.Series(odds, index=_record_pair_key(left, right)),
        iterations=iterations,
    )
