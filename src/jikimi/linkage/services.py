"""Linkage's services (DESIGN §2, §6): the names the rest of the code and the tests use.

The logic lives in one module per job, along its seams:

- `files.py` — linking person-record files (`jikimi link`, `link_records`);
- `spec.py` — the comparison spec, one definition for Splink and the in-app scorer;
- `scoring.py` — scoring a pair of people in Python with the spec and the model's weights;
- `candidates.py` — candidates through the blind index, and the features they are scored on;
- `linking.py` — linking saved people continuously (`link_person`, `link_people`);
- `reappearance.py` — the reappearance alert, and every read of check-in alerts;
- `review.py` — the review queue, decisions, links and clusters, for staff.

Callers import from here; a test that replaces a function for the code that calls it
patches the module where it lives (e.g. `linking.link_person`).
"""

from __future__ import annotations

from jikimi.linkage.candidates import (
    FEATURE_CACHE_SIZE,
    MAX_CANDIDATES,
    _candidates,
    _decrypted,
    _load_features,
    candidate_ids,
)
from jikimi.linkage.engine import DEFAULT_THRESHOLD, LinkInputError
from jikimi.linkage.files import LinkResult, link_records
from jikimi.linkage.linking import (
    AUTO_LINK_THRESHOLD,
    BATCH_CHUNK,
    REVIEW_THRESHOLD,
    LinkOutcome,
    _create_link,
    _prepare,
    _queue,
    link_people,
    link_person,
    thresholds,
)
from jikimi.linkage.reappearance import (
    REAPPEARANCE_ALERT_KIND,
    REAPPEARANCE_STATUSES,
    has_open_checkin_alert,
)
from jikimi.linkage.review import (
    DECIDE_ROLES,
    QUEUE_ROLES,
    ClusterMember,
    NameView,
    PairView,
    SideView,
    cluster_of,
    confirm,
    get_link,
    get_review_item,
    pair_view,
    person_clusters,
    reject,
    review_queue,
    unlink,
)
from jikimi.linkage.scoring import (
    COMPARISONS,
    DEFAULT_M_U,
    DEFAULT_PRIOR,
    GIVEN_NAME_LEVELS,
    NAME_LEVELS,
    TF_FLOOR,
    TF_PRIOR_PEOPLE,
    PairScore,
    RecordFeatures,
    TermFrequencies,
    Weights,
    alias_sources,
    compare,
    current_weights,
    features_of,
    given_digests_of,
    level_bits,
    match_probability,
    score_pair,
    term_frequencies,
    weights_from_model,
)

__all__ = [
    "AUTO_LINK_THRESHOLD",
    "BATCH_CHUNK",
    "COMPARISONS",
    "DECIDE_ROLES",
    "DEFAULT_M_U",
    "DEFAULT_PRIOR",
    "DEFAULT_THRESHOLD",
    "FEATURE_CACHE_SIZE",
    "GIVEN_NAME_LEVELS",
    "MAX_CANDIDATES",
    "NAME_LEVELS",
    "QUEUE_ROLES",
    "REAPPEARANCE_ALERT_KIND",
    "REAPPEARANCE_STATUSES",
    "REVIEW_THRESHOLD",
    "TF_FLOOR",
    "TF_PRIOR_PEOPLE",
    "ClusterMember",
    "LinkInputError",
    "LinkOutcome",
    "LinkResult",
    "NameView",
    "PairScore",
    "PairView",
    "RecordFeatures",
    "SideView",
    "TermFrequencies",
    "Weights",
    "_candidates",
    "_create_link",
    "_decrypted",
    "_load_features",
    "_prepare",
    "_queue",
    "alias_sources",
    "candidate_ids",
    "cluster_of",
    "compare",
    "confirm",
    "current_weights",
    "features_of",
    "get_link",
    "get_review_item",
    "given_digests_of",
    "has_open_checkin_alert",
    "level_bits",
    "link_people",
    "link_person",
    "link_records",
    "match_probability",
    "pair_view",
    "person_clusters",
    "reject",
    "review_queue",
    "score_pair",
    "term_frequencies",
    "thresholds",
    "unlink",
    "weights_from_model",
]
