"""Clusters from scored pairs: correlation clustering (greedy additive edge contraction)
inside the connected components of the pairs at or above the threshold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from jikimi.linkage.prediction import ScoredPairs


def cluster_records(
    record_ids: Sequence[str], pairs: pd.DataFrame, threshold: float
) -> pd.DataFrame:
    """Clusters from scored pairs (a frame holding every scored pair, or at least every pair
    between records that a pair at or above the threshold connects); see `cluster_scored`."""

    def within(groups: pd.DataFrame) -> pd.DataFrame:
        group_of = dict(zip(groups["record_id"], groups["grp"], strict=True))
        left = pairs["record_id_l"].map(group_of)
        right = pairs["record_id_r"].map(group_of)
        return pairs[left.notna() & (left == right)]

    strong = pairs[pairs["match_probability"] >= threshold]
    return _clusters(record_ids, strong, within, threshold)


def cluster_scored(
    record_ids: Sequence[str], scored: ScoredPairs, threshold: float
) -> pd.DataFrame:
    """Clusters from pairs scored in the backend (only the pairs clustering needs leave it)."""
    return _clusters(record_ids, scored.to_pandas(threshold), scored.within, threshold)


def _clusters(
    record_ids: Sequence[str],
    strong: pd.DataFrame,
    pairs_within: Callable[[pd.DataFrame], pd.DataFrame],
    threshold: float,
) -> pd.DataFrame:
    """Correlation clustering of the scored pairs; cluster id = smallest record id.

    Each scored pair weighs `logit2(p) − logit2(threshold)` bits; an unscored pair weighs
    nothing. Greedy additive edge contraction (correlation clustering): join the two clusters
    whose pairs together weigh the most, while that sum is at least 0 — two groups become one
    person when their pairs, on balance, clear the threshold. A single pair at or above the
    threshold still links two records on its own, but it no longer chains two groups that the
    rest of their pairs say are different people (connected components did: "Lee Jin-mi" and
    "Lee Il-il" joined through one alias record that fits both).

    Only groups connected by pairs at or above the threshold can gain a member (every other
    pair weighs less than 0), so connected components of those pairs are found first and the
    contraction runs inside the components of three or more records, on the pairs within
    them (`pairs_within`, which the backend answers). Done here rather than by the backend so
    that every backend clusters the same pairs the same way.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = np.asarray(sorted(record_ids), dtype=object)
    index = {record_id: i for i, record_id in enumerate(ids)}
    rows = np.fromiter((index[r] for r in strong["record_id_l"]), dtype=np.int64, count=len(strong))
    cols = np.fromiter((index[r] for r in strong["record_id_r"]), dtype=np.int64, count=len(strong))
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(ids), len(ids))
    )
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    big = sizes[labels] >= 3
    if big.any():
        groups = pd.DataFrame({"record_id": ids[big], "grp": labels[big]})
        edges = pairs_within(groups)
        offset = _logit2(threshold)
        weights = np.round(_logit2(edges["match_probability"].to_numpy(float)) - offset, 6)
        left = np.fromiter((index[r] for r in edges["record_id_l"]), np.int64, len(edges))
        right = np.fromiter((index[r] for r in edges["record_id_r"]), np.int64, len(edges))
        labels = labels.copy()
        labels[big] = len(ids) + _contract(left, right, weights, len(ids))[big]
    # ids are sorted, so the first member of each cluster is its smallest record id.
    first_member: dict[int, str] = {}
    for i, label in enumerate(labels):
        first_member.setdefault(int(label), ids[i])
    return pd.DataFrame(
        {"record_id": ids, "cluster_id": [first_member[int(label)] for label in labels]}
    )


def _logit2(p: Any) -> Any:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return np.log2(p) - np.log2(1 - p)


def _contract(left: np.ndarray, right: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Greedy additive edge contraction: a cluster label for every node index (nodes without
    an edge keep their own index). Deterministic: ties go to the smaller node indices."""
    import heapq

    adjacency: dict[int, dict[int, float]] = {}
    for a, b, w in zip(left.tolist(), right.tolist(), weights.tolist(), strict=True):
        adjacency.setdefault(a, {})
        adjacency.setdefault(b, {})
        adjacency[a][b] = adjacency[a].get(b, 0.0) + w
        adjacency[b][a] = adjacency[a][b]
    heap = [
        (-w, a, b) for a, near in adjacency.items() for b, w in near.items() if a < b and w >= 0
    ]
    heapq.heapify(heap)
    parent: dict[int, int] = {}
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a in parent or b in parent or adjacency[a].get(b) != -negative:
            continue  # a stale entry: one side was merged, or the sum has changed
        if len(adjacency[a]) < len(adjacency[b]):
            a, b = b, a
        parent[b] = a
        into = adjacency[a]
        del into[b]
        for c, w in adjacency.pop(b).items():
            if c == a:
                continue
            near = adjacency[c]
            del near[b]
            total = round(into.get(c, 0.0) + w, 6)
            into[c] = near[a] = total
            if total >= 0:
                heapq.heappush(heap, (-total, min(a, c), max(a, c)))
    labels = np.arange(n)

    def root(node: int) -> int:
        while node in parent:
            node = parent[node]
        return node

    for node in parent:
        labels[node] = root(node)
    return labels
