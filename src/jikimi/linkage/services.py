"""Linking person-record files: the one entry point the command and the pages use."""

from __future__ import annotations

import logging
import math
import time
import uuid as _uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.core.crypto import blind_index, normalise_for_index
from jikimi.lib import korean, records
from jikimi.lib.dates import PartialDate, Precision
from jikimi.linkage import engine
from jikimi.linkage.engine import DEFAULT_THRESHOLD, LinkInputError
from jikimi.people import services as people
from jikimi.people.models import Identity, IdentityIndex, IdentityKind, Person, SourceRecord
from jikimi.people.services import InvalidInput, NotFound

from .models import LinkMethod, PersonLink, ReviewItem, ReviewStatus

__all__ = ["DEFAULT_THRESHOLD", "LinkInputError", "LinkResult", "link_records"]


@dataclass
class LinkResult:
    clusters: pd.DataFrame  # record_id, cluster_id (every record)
    pairs: pd.DataFrame  # record_id_l, record_id_r, match_probability
    model: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cluster_count(self) -> int:
        return int(self.clusters["cluster_id"].nunique())


def link_records(
    paths: Sequence[str | Path],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    backend: str = "duckdb",
    all_pairs: bool = False,
    model: dict[str, Any] | None = None,
    progress: bool = True,
    extra_columns: Sequence[str] = (),
) -> LinkResult:
    """Read, validate, derive, train (unless `model` is given), score and cluster.

    Raises LinkInputError (naming file, row and column) before any work on bad input.
    `all_pairs` keeps every scored pair; otherwise only pairs at or above the threshold.
    `extra_columns`: identifier columns beyond DESIGN §8's to compare too (see
    `engine.derive_columns`); a given `model` brings its own.
    """
    if not 0.0 < threshold < 1.0:
        raise LinkInputError([f"--threshold: must be between 0 and 1, got {threshold}"])
    if backend not in ("duckdb", "spark"):
        raise LinkInputError([f"--backend: must be duckdb or spark, got {backend!r}"])
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if model is not None:
        extra_columns = model.get("extra_columns", ())
    records = engine.read_records(paths, extra_columns)
    timings["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    bar = engine.stderr_progress(len(records.frame), "deriving") if progress else None
    derived = engine.derive_columns(
        records,
        bar,
        alias_sources=model.get("alias_sources") if model else None,
        extra_columns=extra_columns,
    )
    timings["derive"] = time.perf_counter() - mark
    mark = time.perf_counter()
    if model is None:
        model = engine.train_model(derived)
        timings["train"] = time.perf_counter() - mark
    model = {**model, "threshold": threshold}
    mark = time.perf_counter()
    scored = engine.score_pairs(
        derived, model, backend=backend, floor=None if all_pairs else threshold
    )
    pairs = scored.to_pandas(None if all_pairs else threshold)
    timings["predict"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clusters = engine.cluster_scored(derived["record_id"].tolist(), scored, threshold)
    timings["cluster"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return LinkResult(
        clusters=clusters, pairs=pairs, model=model, warnings=records.warnings, timings=timings
    )


# === Linking people in the application (DESIGN §1, §6) ====================================
#
# Every new person, and every new name or birth-date identity, is compared with the people
# its organisation can see. Candidates come from the blind index (no name is ever compared in
# SQL), are scored in Python with the engine's derived columns and Fellegi–Sunter weights, and
# then linked (above the upper threshold), queued for review (between) or dropped (below).
# Links are reversible rows (models.PersonLink); nothing is merged.

log = logging.getLogger(__name__)

#: Match probability at or above which a pair is linked without a person deciding.
AUTO_LINK_THRESHOLD = 0.95
#: Match probability at or above which (and below the upper one) a pair goes to review.
REVIEW_THRESHOLD = 0.5
#: At most this many candidates are scored per new record (a common name in a big list).
MAX_CANDIDATES = 300
#: People whose derived features a batch (`link_people`) keeps at once.
FEATURE_CACHE_SIZE = 50_000
#: A link to a person in one of these states raises a reappearance alert.
REAPPEARANCE_STATUSES = ("missing", "detained")
REAPPEARANCE_ALERT_KIND = "reappearance"

#: Roles that may see the queue (analysts without names) and roles that may decide.
QUEUE_ROLES = ("admin", "supervisor", "caseworker", "analyst")
DECIDE_ROLES = ("admin", "supervisor", "caseworker")


def thresholds(organisation_slug: str | None = None) -> tuple[float, float]:
    """(review, auto-link) thresholds: module constants unless the settings override them.

    `JIKIMI_LINKAGE_THRESHOLDS = {"default": (0.5, 0.95), "<organisation slug>": (0.6, 0.97)}`
    """
    configured = getattr(django_settings, "JIKIMI_LINKAGE_THRESHOLDS", None) or {}
    low, high = configured.get(
        organisation_slug, configured.get("default", (REVIEW_THRESHOLD, AUTO_LINK_THRESHOLD))
    )
    return float(low), float(high)


# --- Comparison: the engine's columns and levels, scored in Python --------------------------
#
# The levels are those of `engine._comparisons()` in the same order, so the m and u values of
# a model trained by `jikimi link` (JSON, `JIKIMI_LINKAGE_MODEL` = its path) can replace the
# defaults below level by level. The defaults are a transparent starting point, not fitted:
#   m = P(level | same person), u = P(level | two different people of one organisation);
#   weight of a level = log2(m / u) bits; a null level (either side unknown) weighs 0;
#   match weight = log2(prior odds) + sum of weights; probability = 1 / (1 + 2^-weight).
# Read as points: same given name in any spelling +8.7, same surname group +3.2 (Kim, Lee and
# Park are common), same full birth date +12.8, same year +2.6, sex agreeing +1.0 and
# disagreeing -4.1, same province +2.5; a prior of 1 in 10,000 is -13.3.

NAME_LEVELS = ("keys_intersect", "exact", "lev1", "lev2", "else")
#: The given name has the engine's alias level before "else" (`engine.ALIAS_LEVEL_LABEL`): no
#: agreement, and one of the two people has a record from a source that uses aliases.
GIVEN_NAME_LEVELS = ("keys_intersect", "exact", "lev1", "lev2", "alias", "else")
COMPARISONS: dict[str, tuple[str, ...]] = {
    "surname": NAME_LEVELS,
    "given_name": GIVEN_NAME_LEVELS,
    "birth_date": ("full", "year_month", "year", "year_pm1_md", "year_pm1", "else"),
    "sex": ("exact", "else"),
    "province_code": ("exact", "else"),
    "county": ("exact", "lev1", "else"),
    "defection": ("exact", "year_pm1", "else"),
}
DEFAULT_PRIOR = 1e-4
DEFAULT_M_U: dict[str, dict[str, tuple[float, float]]] = {
    "surname": {
        "keys_intersect": (0.90, 0.10),
        "exact": (0.04, 0.02),
        "lev1": (0.03, 0.05),
        "lev2": (0.01, 0.10),
        "else": (0.02, 0.73),
    },
    "given_name": {
        "keys_intersect": (0.85, 0.002),
        "exact": (0.07, 0.002),
        "lev1": (0.04, 0.01),
        "lev2": (0.02, 0.03),
        # A starting point, not fitted: given that one of the two has a record from a source
        # that uses aliases, a disagreeing given name is far less telling (-3.2 bits instead
        # of -5.6). `jikimi link` measured the rate of such disagreements at 0.36 for an
        # alias-prone source against 0.12-0.14 for the others, so a trained model (which
        # learns this level) is the better source of the figure.
        "alias": (0.10, 0.95),
        "else": (0.02, 0.956),
    },
    "birth_date": {
        "full": (0.69, 0.0001),
        "year_month": (0.10, 0.001),
        "year": (0.15, 0.025),
        # A year one off with month and day the same: a mis-recorded year, not a coincidence.
        "year_pm1_md": (0.03, 0.0001),
        "year_pm1": (0.02, 0.05),
        "else": (0.01, 0.9238),
    },
    "sex": {"exact": (0.97, 0.5), "else": (0.03, 0.5)},
    "province_code": {"exact": (0.85, 0.15), "else": (0.15, 0.85)},
    "county": {"exact": (0.70, 0.02), "lev1": (0.05, 0.01), "else": (0.25, 0.97)},
    "defection": {"exact": (0.70, 0.06), "year_pm1": (0.20, 0.12), "else": (0.10, 0.82)},
}


@dataclass(frozen=True)
class Weights:
    prior: float
    m_u: dict[str, dict[str, tuple[float, float]]]
    #: Sources whose records use aliases, from the model (`engine.alias_prone_sources`).
    alias_sources: frozenset[str] = frozenset()

    def bits(self, comparison: str, level: str) -> float:
        if level == "null":
            return 0.0
        m, u = self.m_u[comparison][level]
        return math.log2(max(m, 1e-12) / max(u, 1e-12))


def weights_from_model(model: dict[str, Any] | None) -> Weights:
    """Weights from a trained `jikimi link` model (versioned JSON), else the defaults.

    The model's given-name alias level (`engine.ALIAS_LEVEL_LABEL`) becomes "alias"; a model
    without one (format 1) scores such a pair as it was trained, on its plain "else" level.
    The model's `alias_sources` say which sources' records make a person alias-prone.
    """
    if not model or "splink_model" not in model:
        return Weights(DEFAULT_PRIOR, DEFAULT_M_U)
    splink_model = model["splink_model"]
    m_u = {name: dict(levels) for name, levels in DEFAULT_M_U.items()}
    for comparison in splink_model.get("comparisons", []):
        name = comparison.get("output_column_name")
        if name not in COMPARISONS:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        labels = list(COMPARISONS[name])
        has_alias = any(lv.get("label_for_charts") == engine.ALIAS_LEVEL_LABEL for lv in levels)
        if "alias" in labels and not has_alias:
            labels.remove("alias")
        if len(levels) != len(labels) or (has_alias and "alias" not in labels):
            continue  # a model of another shape: keep the defaults for this field
        if has_alias and levels[labels.index("alias")].get("label_for_charts") != (
            engine.ALIAS_LEVEL_LABEL
        ):
            continue
        for label, level in zip(labels, levels, strict=True):
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is not None and u is not None:
                m_u[name][label] = (float(m), float(u))
        if "alias" in COMPARISONS[name] and not has_alias:
            m_u[name]["alias"] = m_u[name]["else"]  # the model knows no aliases
    prior = float(splink_model.get("probability_two_random_records_match", DEFAULT_PRIOR))
    sources = frozenset(str(s) for s in model.get("alias_sources") or ())
    return Weights(prior, m_u, sources)


_weights_cache: dict[str, Weights] = {}


def current_weights() -> Weights:
    path = getattr(django_settings, "JIKIMI_LINKAGE_MODEL", None)
    key = str(path or "")
    if key not in _weights_cache:
        model = None
        if path:
            import json

            try:
                model = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("linkage model %s unreadable; using default weights", path)
        _weights_cache[key] = weights_from_model(model)
    return _weights_cache[key]


def alias_sources() -> frozenset[str]:
    """Sources whose records use aliases: the loaded model's list (`JIKIMI_LINKAGE_MODEL`)
    and `JIKIMI_LINKAGE_ALIAS_SOURCES` (a list of `SourceRecord.source` names)."""
    configured = getattr(django_settings, "JIKIMI_LINKAGE_ALIAS_SOURCES", None) or ()
    if isinstance(configured, str):
        configured = [configured]
    return current_weights().alias_sources | frozenset(str(s) for s in configured)


@dataclass
class RecordFeatures:
    """The comparison columns of one person: one set of name columns per name identity."""

    names: list[dict[str, Any]]
    birth_year: int | None = None
    birth_ym: str | None = None
    birth_full: str | None = None
    sex: str | None = None
    province: str | None = None
    county: str | None = None
    defection_year: int | None = None
    #: A record of this person comes from a source that uses aliases (`alias_sources()`).
    alias_source: bool = False


def features_of(
    person: Any,
    names: Iterable[str],
    birth_dates: Iterable[str],
    counties: Iterable[str] = (),
    sources: Iterable[str] = (),
) -> RecordFeatures:
    """Derive the engine's columns from a person's decrypted names and birth dates, and the
    sources of their records."""
    columns = []
    for name in names:
        if not name or not name.strip():
            continue
        column = engine._name_columns(name, "")
        if column["surname_keys"] or column["given_keys"]:
            # The blind-index digests of its `g:` keys (what `people.services` stores): term
            # frequencies are counted by digest, never by name.
            column["given_digests"] = _given_digests(name)
            columns.append(column)
    best: PartialDate | None = None
    for text in birth_dates:
        try:
            parsed = records.read_birth_date(text)
        except records.FieldError:
            continue  # stored before the reader checked it: compared as unknown
        # The most precise of the person's dates (Precision lists day first).
        if parsed and (
            best is None or _PRECISION_RANK[parsed.precision] < _PRECISION_RANK[best.precision]
        ):
            best = parsed
    year, month, day = (
        (best.year, best.month, best.day) if best else (person.birth_year, None, None)
    )
    province = korean.province_code(person.province)
    county = next((engine.county_key(c) for c in counties if c), None)
    return RecordFeatures(
        names=columns,
        birth_year=year,
        birth_ym=f"{year:04d}-{month:02d}" if year and month else None,
        birth_full=f"{year:04d}-{month:02d}-{day:02d}" if year and month and day else None,
        sex=person.sex or None,
        province=province,
        county=county,
        defection_year=person.defection_year,
        alias_source=not alias_sources().isdisjoint(sources),
    )


_PRECISION_RANK = {precision: rank for rank, precision in enumerate(Precision)}


def _given_digests(name: str) -> frozenset[str]:
    return frozenset(blind_index("name", k) for k in korean.index_keys(name) if k.startswith("g:"))


def _levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance, stopping early once it must exceed `limit` (names are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _name_level(left: dict, right: dict, fine: str, key: str, alias: bool = False) -> str:
    """The engine's name levels in its order; `alias` (given name only): one of the two is
    alias-prone, so a name that agrees in no way is "alias", not "else"."""
    if not (left[fine] and left[key] and right[fine] and right[key]):
        return "null"
    if set(left[fine]) & set(right[fine]):
        return "keys_intersect"
    if left[key] == right[key]:
        return "exact"
    distance = _levenshtein(left[key], right[key], 2)
    if distance <= 2:
        return "lev1" if distance <= 1 else "lev2"
    return "alias" if alias else "else"


def _exact_level(left: Any, right: Any) -> str:
    if left is None or right is None:
        return "null"
    return "exact" if left == right else "else"


# --- Term frequencies (Splink's term-frequency adjustment, on blind-index digests) ----------
#
# A rare given name agreeing is stronger evidence than a common one. The engine adjusts the
# "keys_intersect" level by the frequency of the agreeing value; the pages do the same for the
# given name, counting per blind-index digest of a `g:` key how many distinct people the
# organisation can see (own and shared, as `candidate_ids`) carry it — no name reaches SQL.
# There is no surname-only key in the index (`index_keys` stores `n:` full-name and `g:`
# given-name keys; `s:` only for a name that is a surname alone), so the surname is not
# adjusted. The "exact" level (coarse keys equal, no fine key shared) has no digest to count
# and, as in the engine, is not adjusted either.
#
#   weight = log2(m / tf) instead of log2(m / u), on the given name's "keys_intersect" level;
#   count  = the most common digest the two names share (the conservative reading), less the
#            pair's own two people (Splink counts them; with millions of records that is
#            nothing, with the few dozen people of a new organisation it would make every
#            shared name look common);
#   tf     = (count + K·u) / (people seen − 2 + K), K = TF_PRIOR_PEOPLE: the frequency is
#            pulled towards the level's u until the organisation has about K people, so a
#            small organisation scores as without the adjustment;
#   tf    >= u · TF_FLOOR: a name nobody else carries can add at most log2(1/TF_FLOOR) bits
#            (2 bits for 1/4), so a unique spelling cannot outweigh a birth date.

TF_PRIOR_PEOPLE = 1000
TF_FLOOR = 0.25


@dataclass(frozen=True)
class TermFrequencies:
    """Distinct people per given-name digest among `population` people one organisation sees."""

    counts: dict[str, int]
    population: int

    def adjusted(self, digests: Iterable[str], m: float, u: float) -> tuple[float, int] | None:
        """(bits, people carrying the name) for a level whose names share `digests`; None
        when none of them is counted (nothing to adjust by)."""
        count = max((self.counts.get(d, 0) for d in digests), default=0)
        if count <= 0:
            return None
        others = max(count - 2, 0)
        tf = (others + TF_PRIOR_PEOPLE * u) / (max(self.population - 2, 0) + TF_PRIOR_PEOPLE)
        tf = max(tf, u * TF_FLOOR)
        return math.log2(max(m, 1e-12) / tf), count


def _people_seen_by(organisation_id: int) -> Q:
    """The people an organisation can see (own and shared): `candidate_ids`' population."""
    return Q(organisation_id=organisation_id) | Q(
        id__in=accounts.shared_person_ids(organisation_id)
    )


def term_frequencies(organisation_id: int, digests: Iterable[str]) -> TermFrequencies:
    """Count, per digest, the distinct people the organisation sees that carry it: one
    grouped query (per 5,000 digests) and one count, whatever the number of pairs."""
    wanted = sorted(set(digests))
    counts: dict[str, int] = {}
    for digests in _parts(wanted):
        rows = (
            IdentityIndex.objects.filter(_seen_by(organisation_id))
            .filter(digest__in=digests)
            .values("digest")
            .annotate(people=Count("person_id", distinct=True))
            .order_by()
            .values_list("digest", "people")
        )
        counts.update(rows)
    population = Person.objects.filter(_people_seen_by(organisation_id)).count() if wanted else 0
    return TermFrequencies(counts, population)


def given_digests_of(*features: RecordFeatures) -> set[str]:
    return {d for f in features for n in f.names for d in n.get("given_digests", ())}


# --- Scoring ---------------------------------------------------------------------------------


@dataclass
class PairScore:
    levels: dict[str, str]
    #: Fields whose weight a term frequency changed: adjusted bits.
    adjusted: dict[str, float]
    #: Those fields' (people carrying the name, people seen), for the side-by-side view.
    frequencies: dict[str, tuple[int, int]]
    probability: float


def score_pair(
    left: RecordFeatures,
    right: RecordFeatures,
    frequencies: TermFrequencies | None = None,
    weights: Weights | None = None,
) -> PairScore:
    """Levels of every field for the best-agreeing pair of names, and the match probability
    (term-frequency adjusted when `frequencies` are given)."""
    weights = weights or current_weights()
    levels: dict[str, str] = {}
    if left.birth_year is None or right.birth_year is None:
        levels["birth_date"] = "null"
    elif left.birth_full and left.birth_full == right.birth_full:
        levels["birth_date"] = "full"
    elif left.birth_ym and left.birth_ym == right.birth_ym:
        levels["birth_date"] = "year_month"
    elif left.birth_year == right.birth_year:
        levels["birth_date"] = "year"
    elif (
        abs(left.birth_year - right.birth_year) <= 1
        and left.birth_full
        and right.birth_full
        and left.birth_full[5:] == right.birth_full[5:]
    ):
        levels["birth_date"] = "year_pm1_md"
    elif abs(left.birth_year - right.birth_year) <= 1:
        levels["birth_date"] = "year_pm1"
    else:
        levels["birth_date"] = "else"
    levels["sex"] = _exact_level(left.sex, right.sex)
    levels["province_code"] = _exact_level(left.province, right.province)
    if left.county is None or right.county is None:
        levels["county"] = "null"
    elif left.county == right.county:
        levels["county"] = "exact"
    else:
        levels["county"] = "lev1" if _levenshtein(left.county, right.county, 1) <= 1 else "else"
    if left.defection_year is None or right.defection_year is None:
        levels["defection"] = "null"
    elif left.defection_year == right.defection_year:
        levels["defection"] = "exact"
    elif abs(left.defection_year - right.defection_year) <= 1:
        levels["defection"] = "year_pm1"
    else:
        levels["defection"] = "else"
    alias = left.alias_source or right.alias_source
    best_names: dict[str, str] = {"surname": "null", "given_name": "null"}
    best_adjusted: dict[str, float] = {}
    best_frequencies: dict[str, tuple[int, int]] = {}
    best_bits = -math.inf
    for ln in left.names:
        for rn in right.names:
            names = {
                "surname": _name_level(ln, rn, "surname_keys", "surname_group"),
                "given_name": _name_level(ln, rn, "given_keys", "given_key", alias),
            }
            adjusted: dict[str, float] = {}
            counted: dict[str, tuple[int, int]] = {}
            if frequencies is not None and names["given_name"] == "keys_intersect":
                shared = ln.get("given_digests", frozenset()) & rn.get("given_digests", frozenset())
                found = frequencies.adjusted(shared, *weights.m_u["given_name"]["keys_intersect"])
                if found is not None:
                    adjusted["given_name"] = found[0]
                    counted["given_name"] = (found[1], frequencies.population)
            bits = sum(adjusted.get(f, weights.bits(f, level)) for f, level in names.items())
            if bits > best_bits:
                best_names, best_adjusted, best_frequencies = names, adjusted, counted
                best_bits = bits
    levels = {**best_names, **levels}
    return PairScore(
        levels=levels,
        adjusted=best_adjusted,
        frequencies=best_frequencies,
        probability=match_probability(levels, weights, best_adjusted),
    )


def compare(
    left: RecordFeatures, right: RecordFeatures, frequencies: TermFrequencies | None = None
) -> dict[str, str]:
    """The comparison level of every field, for the best-agreeing pair of names."""
    return score_pair(left, right, frequencies).levels


def match_probability(
    levels: dict[str, str],
    weights: Weights | None = None,
    adjusted: dict[str, float] | None = None,
) -> float:
    """1 / (1 + 2^-weight); `adjusted` replaces the weight of a field (term frequencies)."""
    weights = weights or current_weights()
    adjusted = adjusted or {}
    bits = math.log2(weights.prior / (1 - weights.prior))
    bits += sum(adjusted.get(f, weights.bits(f, level)) for f, level in levels.items())
    return 1.0 / (1.0 + 2.0 ** (-bits))


def level_bits(
    levels: dict[str, str], adjusted: dict[str, float] | None = None
) -> dict[str, float]:
    """Each field's contribution in bits (term-frequency adjusted), for the side-by-side view."""
    weights = current_weights()
    adjusted = adjusted or {}
    return {f: round(adjusted.get(f, weights.bits(f, level)), 1) for f, level in levels.items()}


# --- Candidates and decisions ------------------------------------------------------------


def _ordered(a: Person, b: Person) -> tuple[Person, Person]:
    """The canonical order of a pair: smaller primary key first."""
    return (a, b) if str(a.pk) < str(b.pk) else (b, a)


Decrypted = tuple[list[str], list[str], list[str], list[str]]

#: Ids or digests per `IN (…)` list (SQLite builds may allow only 32,766 parameters).
IN_LIST_SIZE = 5000


def _parts(items: Sequence[Any], size: int = IN_LIST_SIZE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _decrypted(people: list[Person]) -> dict[Any, Decrypted]:
    """Names, birth dates, counties and record sources of `people` (`features_of`'s
    arguments), decrypted here only (never logged): one query for the identities and one for
    the source records (per 5,000 people), however many people."""
    out: dict[Any, Decrypted] = {p.pk: ([], [], [], []) for p in people}
    for ids in _parts(list(out)):
        for ident in Identity.objects.filter(
            person_id__in=ids, kind__in=(IdentityKind.NAME, IdentityKind.BIRTH_DATE)
        ).order_by("-is_primary", "created_at"):
            out[ident.person_id][0 if ident.kind == IdentityKind.NAME else 1].append(ident.value)
        for person_id, county, source in SourceRecord.objects.filter(person_id__in=ids).values_list(
            "person_id", "county", "source"
        ):
            out[person_id][2].append(county)
            out[person_id][3].append(source)
    return out


def _load_features(
    people: list[Person], cache: dict[Any, RecordFeatures] | None = None
) -> dict[Any, RecordFeatures]:
    """Comparison columns of `people`; with `cache` (a batch), each person is decrypted and
    derived once however many of the batch's people have them as a candidate."""
    missing = [p for p in people if cache is None or p.pk not in cache]
    decrypted = _decrypted(missing) if missing else {}
    found = {p.pk: features_of(p, *decrypted[p.pk]) for p in missing}
    if cache is None:
        return found
    result = {p.pk: found[p.pk] if p.pk in found else cache[p.pk] for p in people}
    if len(cache) + len(found) > FEATURE_CACHE_SIZE:
        cache.clear()  # bounded memory for very large batches; correctness is unaffected
    cache.update(found)
    return result


def _seen_by(organisation_id: int) -> Q:
    """IdentityIndex rows of the people an organisation can see (own and shared)."""
    return Q(organisation_id=organisation_id) | Q(
        person_id__in=accounts.shared_person_ids(organisation_id)
    )


def _search_digests(names: Iterable[str], features: RecordFeatures) -> set[str]:
    """The blind-index digests that find a person's likely duplicates: the full-name keys of
    every spelling (`search_keys`) and the full birth date."""
    found = {blind_index("name", k) for name in names for k in korean.search_keys(name)}
    if features.birth_full:
        found.add(blind_index("birth_date", normalise_for_index(features.birth_full)))
    return found


def candidate_ids(person: Person, features: RecordFeatures, names: Iterable[str]) -> list[Any]:
    """Other people the organisation can see that may be this person (blocking).

    1. Full-name keys (`search_keys`, every spelling) and the exact birth date, through the
       blind index: the same digest means the same normalised key.
    2. Given-name keys (`g:` of `index_keys`) with the same birth year: catches a surname
       misspelt beyond recognition.
    3. No name in common but the same birth year, sex and province: aliases.
    At most `MAX_CANDIDATES`, in that order.
    """
    search = {person.pk: _search_digests(names, features)}
    return _candidates([person], {person.pk: features}, search)[person.pk]


def _candidates(
    people: list[Person], features: dict[Any, RecordFeatures], search: dict[Any, set[str]]
) -> dict[Any, list[Any]]:
    """`candidate_ids` of many people at once: per organisation, one query per blocking rule
    (per 5,000 keys), not three per person — the ORM's query compilation was most of the
    cost of linking a person."""
    out: dict[Any, dict[Any, None]] = {p.pk: {} for p in people}
    by_org: dict[int, list[Person]] = {}
    for person in people:
        by_org.setdefault(person.organisation_id, []).append(person)

    def add(person: Person, ids: Iterable[Any]) -> None:
        found = out[person.pk]
        for pid in ids:
            if len(found) >= MAX_CANDIDATES:
                return
            if pid != person.pk:
                found[pid] = None

    for org, members in by_org.items():
        index = IdentityIndex.objects.filter(_seen_by(org))
        # 1. Full-name keys and the full birth date.
        hits: dict[str, list[Any]] = {}
        wanted = sorted({d for p in members for d in search[p.pk]})
        for digests in _parts(wanted):
            rows = index.filter(digest__in=digests).values_list("digest", "person_id").distinct()
            for digest, pid in rows:
                hits.setdefault(digest, []).append(pid)
        for person in members:
            for digest in sorted(search[person.pk]):
                add(person, hits.get(digest, ()))
        # 2. Given-name keys with the same birth year: (year, digest) pairs, by year.
        by_year: dict[int, set[str]] = {}
        for person in members:
            own = features[person.pk]
            if own.birth_year and len(out[person.pk]) < MAX_CANDIDATES:
                by_year.setdefault(own.birth_year, set()).update(given_digests_of(own))
        given_hits: dict[tuple[int, str], list[Any]] = {}
        for condition in _year_conditions(by_year):
            rows = (
                index.filter(condition)
                .values_list("person__birth_year", "digest", "person_id")
                .distinct()
            )
            for year, digest, pid in rows:
                given_hits.setdefault((year, digest), []).append(pid)
        for person in members:
            own = features[person.pk]
            if own.birth_year:
                for digest in sorted(given_digests_of(own)):
                    add(person, given_hits.get((own.birth_year, digest), ()))
        # 3. The same birth year, sex and province (aliases), newest first; at most
        #    MAX_CANDIDATES a cell (a big organisation has hundreds in each).
        cells = sorted(
            {
                (features[p.pk].birth_year, features[p.pk].sex, p.province)
                for p in members
                if features[p.pk].birth_year
                and features[p.pk].sex
                and p.province
                and len(out[p.pk]) < MAX_CANDIDATES
            }
        )
        cell_hits: dict[tuple[int, str, str], list[Any]] = {}
        for part in _parts(cells, 1000):
            condition = Q()
            for year, sex, province in part:
                condition |= Q(birth_year=year, sex=sex, province=province)
            rows = (
                Person.objects.filter(_people_seen_by(org))
                .filter(condition)
                .annotate(
                    rank=Window(
                        RowNumber(),
                        partition_by=[F("birth_year"), F("sex"), F("province")],
                        order_by=[F("created_at").desc(), F("id").asc()],
                    )
                )
                .filter(rank__lte=MAX_CANDIDATES + 1)  # + the person itself
                .order_by("-created_at", "id")
                .values_list("birth_year", "sex", "province", "pk")
            )
            for year, sex, province, pid in rows:
                cell_hits.setdefault((year, sex, province), []).append(pid)
        for person in members:
            own = features[person.pk]
            add(person, cell_hits.get((own.birth_year, own.sex, person.province), ()))
    return {pk: list(found) for pk, found in out.items()}


def _year_conditions(by_year: dict[int, set[str]]) -> Iterable[Q]:
    """`(birth year = y AND digest IN (…)) OR …`, at most 5,000 digests a query."""
    condition, size = Q(), 0
    for year in sorted(by_year):
        digests = sorted(by_year[year])
        if not digests:
            continue
        if size and size + len(digests) > IN_LIST_SIZE:
            yield condition
            condition, size = Q(), 0
        condition |= Q(person__birth_year=year, digest__in=digests)
        size += len(digests)
    if size:
        yield condition


@dataclass
class LinkOutcome:
    linked: list[PersonLink] = field(default_factory=list)
    queued: list[ReviewItem] = field(default_factory=list)
    dropped: int = 0


#: People of a batch whose linkage inputs are read together (`_prepare`).
BATCH_CHUNK = 500


@dataclass
class _Chunk:
    """What `link_person` needs for a chunk of a batch's people, read in a few queries for all
    of them: the people, their features and candidates, the candidates' rows and features,
    the term frequencies of their given names, and the pairs already decided or pending.

    `link_person` keeps `decided` and `pending` up to date with its own writes, so a pair of
    two people of one chunk is decided once. A decision taken elsewhere meanwhile (seconds) is
    caught by the unique constraints: one live link per pair, one review item per pair.
    """

    people: dict[Any, Person]
    features: dict[Any, RecordFeatures]  # the chunk's people and their candidates
    candidates: dict[Any, list[Any]]
    others: dict[Any, Person]  # every candidate's row
    frequencies: dict[int, TermFrequencies]
    decided: set[tuple[str, str]]  # live or undone links, decided reviews (str ids, ordered)
    pending: dict[tuple[Any, Any], ReviewItem]


def _prepare(person_ids: Sequence[Any], cache: dict[Any, RecordFeatures]) -> _Chunk:
    people = {
        p.pk: p for p in Person.objects.select_related("organisation").filter(pk__in=person_ids)
    }
    decrypted = _decrypted(list(people.values()))
    own = {pk: features_of(person, *decrypted[pk]) for pk, person in people.items()}
    search = {pk: _search_digests(decrypted[pk][0], own[pk]) for pk in people}
    candidates = _candidates(list(people.values()), own, search)
    wanted = sorted({c for ids in candidates.values() for c in ids if c not in people}, key=str)
    others = dict(people)
    for ids in _parts(wanted):
        others.update((p.pk, p) for p in Person.objects.filter(pk__in=ids))
    cache.update(own)
    features = {
        **_load_features([others[c] for c in wanted if c in others], cache),
        **own,
    }
    digests: dict[int, set[str]] = {}
    for pk, person in people.items():
        digests.setdefault(person.organisation_id, set()).update(given_digests_of(own[pk]))
    frequencies = {org: term_frequencies(org, found) for org, found in digests.items()}
    decided: set[tuple[str, str]] = set()
    pending: dict[tuple[Any, Any], ReviewItem] = {}
    for ids in _parts(list(people)):
        touching = Q(person_a_id__in=ids) | Q(person_b_id__in=ids)
        links = PersonLink.objects.filter(touching).values_list("person_a_id", "person_b_id")
        decided.update((str(a), str(b)) for a, b in links)
        for item in ReviewItem.objects.filter(touching):
            if item.status == ReviewStatus.PENDING:
                pending[(item.person_a_id, item.person_b_id)] = item
            else:
                decided.add((str(item.person_a_id), str(item.person_b_id)))
    return _Chunk(people, features, candidates, others, frequencies, decided, pending)


def _person_id(value: Any) -> Any:
    return value if isinstance(value, _uuid.UUID) else _as_uuid(value)


def link_people(
    person_ids: Iterable[Any], *, on_failure: Callable[[Any, Exception], None] | None = None
) -> LinkOutcome:
    """`link_person` for many people (an import, a batch of saves in one transaction).

    Per chunk of `BATCH_CHUNK` people, everything the comparisons need is read together
    (`_prepare`: candidates through the blind index, decided and pending pairs, the term
    frequencies of the given names, in one query per kind), and decrypted candidate features
    are shared across the whole batch: an import of thousands of people of one organisation
    compares mostly the same candidates over and over.

    Each person is linked in its own transaction, so one failure does not undo the others:
    it goes to `on_failure(person_id, exc)` (or is raised when none is given).
    """
    total = LinkOutcome()
    cache: dict[Any, RecordFeatures] = {}
    ids = list(dict.fromkeys(person_ids))
    for part in _parts(ids, BATCH_CHUNK):
        try:
            chunk = _prepare([_person_id(pid) for pid in part], cache)
        except Exception as exc:
            if on_failure is None:
                raise
            for person_id in part:
                on_failure(person_id, exc)
            continue
        for person_id in part:
            try:
                outcome = link_person(person_id, features_cache=cache, chunk=chunk)
            except Exception as exc:
                if on_failure is None:
                    raise
                on_failure(person_id, exc)
                continue
            total.linked += outcome.linked
            total.queued += outcome.queued
            total.dropped += outcome.dropped
    return total


def link_person(
    person_id: Any,
    *,
    features_cache: dict[Any, RecordFeatures] | None = None,
    chunk: _Chunk | None = None,
) -> LinkOutcome:
    """Compare one person with the people their organisation can see; link, queue or drop.

    Called after a person or a name/birth-date identity is saved (signals.py). Idempotent:
    a pair already linked, unlinked or decided is left alone; a pending pair is re-scored.
    `features_cache` and `chunk` are `link_people`'s; alone, the person is a chunk of one.
    """
    outcome = LinkOutcome()
    person_id = _person_id(person_id)
    if chunk is None:
        chunk = _prepare([person_id], {} if features_cache is None else features_cache)
    person = chunk.people.get(person_id)
    if person is None:  # deleted, or rolled back in the batch's transaction
        return outcome
    low, high = thresholds(person.organisation.slug)
    own = chunk.features[person.pk]
    frequencies = chunk.frequencies.get(person.organisation_id)
    decided: list[tuple[str, str]] = []
    settled: list[tuple[Any, Any]] = []
    queued: dict[tuple[Any, Any], ReviewItem] = {}
    with transaction.atomic():
        for candidate_id in chunk.candidates.get(person.pk, ()):
            candidate = chunk.others.get(candidate_id)
            if candidate is None:
                continue  # deleted meanwhile
            a, b = _ordered(person, candidate)
            if (str(a.pk), str(b.pk)) in chunk.decided:
                continue
            scored = score_pair(own, chunk.features[candidate.pk], frequencies)
            levels, score = scored.levels, scored.probability
            item = queued.get((a.pk, b.pk)) or chunk.pending.get((a.pk, b.pk))
            if score >= high:
                link = _create_link(a, b, method=LinkMethod.AUTO, score=score, levels=levels)
                decided.append((str(a.pk), str(b.pk)))  # ours, or a concurrent writer's
                if link is not None:
                    outcome.linked.append(link)
                    if item is not None:  # the model is now sure: the pair leaves the queue
                        item.status, item.decided_at, item.link = (
                            ReviewStatus.CONFIRMED,
                            timezone.now(),
                            link,
                        )
                        item.save(update_fields=["status", "decided_at", "link"])
                        settled.append((a.pk, b.pk))
            elif score >= low:
                item = _queue(
                    a,
                    b,
                    score=score,
                    levels=levels,
                    organisation_id=person.organisation_id,
                    existing=item,
                )
                outcome.queued.append(item)
                queued[(a.pk, b.pk)] = item
            else:
                if item is not None:  # no longer plausible (its facts changed)
                    item.delete()
                    settled.append((a.pk, b.pk))
                outcome.dropped += 1
    # Only once the transaction committed: a failure above leaves the chunk as it was.
    chunk.decided.update(decided)
    for pair in settled:
        chunk.pending.pop(pair, None)
        queued.pop(pair, None)
    chunk.pending.update(queued)
    return outcome


_UNKNOWN: Any = object()


def _queue(
    a: Person,
    b: Person,
    *,
    score: float,
    levels: dict[str, str],
    organisation_id: int,
    existing: ReviewItem | None = _UNKNOWN,
) -> ReviewItem:
    """Queue a pair, or re-score its pending item. `existing`: the pair's pending item as
    `link_person` knows it (None: the pair has no item), which saves looking it up."""
    created = False
    if existing is _UNKNOWN:
        item, created = ReviewItem.objects.get_or_create(
            person_a=a, person_b=b, defaults={"score": score, "levels": levels}
        )
    elif existing is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent writer may have queued it
                item = ReviewItem.objects.create(person_a=a, person_b=b, score=score, levels=levels)
            created = True
        except IntegrityError:
            item = ReviewItem.objects.get(person_a=a, person_b=b)
    else:
        item = existing
    if created:
        audit.record(
            "linkage.review.queue",
            organisation_id=organisation_id,
            object_type="review",
            object_ref=str(item.pk),
            detail={"a": a.code, "b": b.code, "score": round(score, 4)},
        )
    elif item.status == ReviewStatus.PENDING and (item.score, item.levels) != (score, levels):
        item.score, item.levels = score, levels
        item.save(update_fields=["score", "levels"])
    return item


def _create_link(
    a: Person,
    b: Person,
    *,
    method: str,
    score: float | None,
    levels: dict[str, str],
    user: User | None = None,
    reason: str = "",
) -> PersonLink | None:
    """Insert a live link (None if one exists: a concurrent writer won), audit it and raise a
    reappearance alert when one side is missing, detained or has an open check-in alert."""
    link = PersonLink(
        person_a=a, person_b=b, method=method, score=score, levels=levels, created_by=user
    )
    link.reason = reason or None
    try:
        with transaction.atomic():  # a savepoint: the pair's unique constraint may fire
            link.save()
    except IntegrityError:
        return None
    audit.record(
        "linkage.link",
        actor=user,
        organisation_id=None if user else a.organisation_id,
        object_type="link",
        object_ref=str(link.pk),
        detail={
            "a": a.code,
            "b": b.code,
            "method": method,
            **({"score": round(score, 4)} if score is not None else {}),
        },
    )
    _raise_reappearance(link, a, b)
    return link


def has_open_checkin_alert(person: Person) -> bool:
    from jikimi.checkins.models import Alert, AlertState

    return Alert.objects.filter(
        enrolment__person=person,
        state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
        is_drill=False,
    ).exists()


def _current_risk(people: Sequence[Person]) -> dict[Any, tuple[str, bool]]:
    """Status and "has an open check-in alert" of `people`, read now in one statement.

    `has_open_checkin_alert` as SQL written once: this runs for every link a batch creates,
    and compiling the same query through the ORM cost more than running it. Only ids and
    fixed states are parameters; table and column names come from the models.
    """
    from jikimi.checkins.models import Alert, AlertState, Enrolment

    def column(model: Any, name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    pk = Person._meta.pk
    ids = [pk.get_db_prep_value(p.pk, connection) for p in people]
    person_id = f"p.{connection.ops.quote_name(pk.column)}"
    enrolment_id = f"e.{connection.ops.quote_name(Enrolment._meta.pk.column)}"
    # Names from the models and "%s" marks only: nothing from the data reaches the text.
    alert = (
        f"SELECT 1 FROM {table(Alert)} a INNER JOIN {table(Enrolment)} e"  # noqa: S608
        f" ON a.{column(Alert, 'enrolment')} = {enrolment_id}"
        f" WHERE e.{column(Enrolment, 'person')} = {person_id}"
        f" AND a.{column(Alert, 'state')} IN (%s, %s) AND a.{column(Alert, 'is_drill')} = %s"
    )
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {person_id}, p.{column(Person, 'status')}, EXISTS ({alert})"  # noqa: S608
        f" FROM {table(Person)} p WHERE {person_id} IN ({marks})"
    )
    params = [AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value, False, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk.to_python(row[0]): (row[1], bool(row[2])) for row in cursor.fetchall()}


def _raise_reappearance(link: PersonLink, a: Person, b: Person) -> None:
    """A record now linked to a missing or detained person: tell that person's staff.

    The status and the check-in alerts of both people are read now, in one query (the rows
    in hand may be seconds old in a batch). The key names the pair, so the alert is raised
    once however often the pair is linked, unlinked and linked again, and whichever process
    gets there first.
    """
    from jikimi.checkins import services as checkins

    current = _current_risk([a, b])
    for person, other in ((a, b), (b, a)):
        status, alert = current.get(person.pk, (person.status, False))
        if status not in REAPPEARANCE_STATUSES and not alert:
            continue
        checkins.raise_staff_alert(
            organisation_id=person.organisation_id,
            kind=REAPPEARANCE_ALERT_KIND,
            key=f"reappearance:{person.code}:{other.code}",
            detail={
                "person": person.code,
                "linked_person": other.code,
                "status": status,
                "link": str(link.pk),
                "method": link.method,
                **({"score": round(link.score, 4)} if link.score is not None else {}),
            },
        )
        audit.record(
            "linkage.reappearance",
            organisation_id=person.organisation_id,
            object_type="person",
            object_ref=person.code,
            detail={"linked_person": other.code, "link": str(link.pk)},
        )


# --- The review queue, links and clusters, for staff -------------------------------------
#
# Access: a pair is visible only when the user can see both people (people.visible_people);
# anything else is NotFound, so pages and API answer 404 and a code cannot be probed.


def _require_queue(user: User) -> None:
    accounts.require_role(user, *QUEUE_ROLES)


def _require_decider(user: User) -> None:
    accounts.require_role(user, *DECIDE_ROLES)


def _pairs_visible_to(user: User, queryset: QuerySet) -> QuerySet:
    visible = people.visible_people(user).values("pk")
    return queryset.filter(person_a__in=visible, person_b__in=visible)


def _open_checkin_alert(person: str) -> Exists:
    """SQL for `has_open_checkin_alert` of the pair's `person` ("person_a" or "person_b")."""
    from jikimi.checkins.models import Alert, AlertState

    return Exists(
        Alert.objects.filter(
            enrolment__person=OuterRef(person),
            state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
            is_drill=False,
        )
    )


def review_queue(user: User, *, offset: int = 0, limit: int = 50) -> tuple[list[ReviewItem], int]:
    """Pending pairs both of whose people the user can see: first the pairs with a person
    who is missing or detained or has an open check-in alert (a reappearance waits on the
    decision), then by score, highest first, then oldest first.

    The order is computed in SQL (annotations `a_alert`, `b_alert`, `urgent`), so paging
    stays right however long the queue.
    """
    _require_queue(user)
    pending = _pairs_visible_to(user, ReviewItem.objects.filter(status=ReviewStatus.PENDING))
    total = pending.count()
    at_risk = Q(person_a__status__in=REAPPEARANCE_STATUSES) | Q(
        person_b__status__in=REAPPEARANCE_STATUSES
    )
    ordered = pending.annotate(
        a_alert=_open_checkin_alert("person_a"), b_alert=_open_checkin_alert("person_b")
    ).annotate(
        urgent=Case(
            When(at_risk | Q(a_alert=True) | Q(b_alert=True), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    items = list(
        ordered.select_related("person_a__organisation", "person_b__organisation").order_by(
            "-urgent", "-score", "created_at", "id"
        )[offset : offset + limit]
    )
    audit.record(
        "linkage.review.list",
        actor=user,
        object_type="review",
        detail={"items": [str(i.pk) for i in items], "total": total},
    )
    return items, total


def get_review_item(user: User, item_id: Any) -> ReviewItem:
    _require_queue(user)
    item = (
        _pairs_visible_to(user, ReviewItem.objects.filter(pk=_as_uuid(item_id)))
        .select_related("person_a__organisation", "person_b__organisation")
        .first()
    )
    if item is None:
        audit.record(
            "linkage.review.not_found",
            actor=user,
            object_type="review",
            object_ref=str(item_id)[:64],
        )
        raise NotFound(str(item_id))
    return item


def _as_uuid(value: Any) -> Any:
    try:
        return _uuid.UUID(str(value))
    except ValueError:
        return _uuid.UUID(int=0)  # matches nothing: NotFound, like any unknown id


@dataclass
class NameView:
    value: str
    script: str
    name_kind: str
    forms: list[str]  # other spellings: RR, McCune–Reischauer, the North's (or Hangul surnames)


@dataclass
class SideView:
    code: str
    organisation: str
    status: str
    birth_year: int | None
    sex: str
    province: str
    sources: list[str]
    names: list[NameView]  # empty for analysts
    birth_dates: list[str]  # empty for analysts


@dataclass
class PairView:
    item: ReviewItem | None
    score: float
    levels: list[tuple[str, str, float]]  # field, level, weight in bits
    left: SideView
    right: SideView
    #: Fields weighted by how common the agreeing name is: (people carrying it, people seen).
    frequencies: dict[str, tuple[int, int]] = field(default_factory=dict)


def _name_forms(value: str) -> list[str]:
    if korean.is_hangul(value):
        forms = [
            " ".join(korean.romanise_syllables(value, system)).title()
            for system in ("rr", "mr", "north")
        ]
    else:
        parts = korean.normalise_name(value)
        forms = sorted(parts.surname_hangul)
    return [f for f in dict.fromkeys(forms) if f and f != value]


def _side(user: User, person: Person, decrypted: Decrypted) -> SideView:
    sources = sorted(set(decrypted[3]))
    names: list[NameView] = []
    births: list[str] = []
    if user.sees_identities:
        for ident in person.identities.filter(kind=IdentityKind.NAME).order_by(
            "-is_primary", "created_at"
        ):
            names.append(
                NameView(ident.value, ident.script, ident.name_kind, _name_forms(ident.value))
            )
        births = decrypted[1]
    return SideView(
        code=person.code,
        organisation=person.organisation.name,
        status=person.status,
        birth_year=person.birth_year,
        sex=person.sex,
        province=person.province,
        sources=sources,
        names=names,
        birth_dates=births,
    )


def pair_view(user: User, item: ReviewItem) -> PairView:
    """The side-by-side view of a pair, re-scored now (identities may have changed)."""
    _require_queue(user)
    a, b = item.person_a, item.person_b
    decrypted = _decrypted([a, b])
    left, right = features_of(a, *decrypted[a.pk]), features_of(b, *decrypted[b.pk])
    # Name frequencies among the people the reviewer's organisation sees (both of the pair
    # are among them, or the pair would be NotFound).
    frequencies = term_frequencies(user.organisation_id, given_digests_of(left, right))
    scored = score_pair(left, right, frequencies)
    levels = scored.levels
    bits = level_bits(levels, scored.adjusted)
    view = PairView(
        item=item,
        score=scored.probability,
        frequencies=scored.frequencies,
        levels=[(f, levels[f], bits[f]) for f in COMPARISONS],
        left=_side(user, a, decrypted[a.pk]),
        right=_side(user, b, decrypted[b.pk]),
    )
    audit.record(
        "linkage.review.read",
        actor=user,
        object_type="review",
        object_ref=str(item.pk),
        detail={"a": a.code, "b": b.code, "names_shown": user.sees_identities},
    )
    return view


def _pending_for_update(user: User, item: ReviewItem) -> ReviewItem:
    """Re-read the item locked: two reviewers deciding at once get one decision."""
    locked = ReviewItem.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None:
        raise NotFound(str(item.pk))
    if locked.status != ReviewStatus.PENDING:
        raise InvalidInput({"status": "this pair was already decided"})
    return locked


def confirm(user: User, item: ReviewItem, *, reason: str = "") -> PersonLink:
    """Confirm a pair: a reversible same-person link by this reviewer."""
    _require_decider(user)
    item = get_review_item(user, item.pk)
    if len(reason) > 1000:
        raise InvalidInput({"reason": "at most 1000 characters"})
    with transaction.atomic():
        locked = _pending_for_update(user, item)
        a, b = item.person_a, item.person_b
        link = _create_link(
            a,
            b,
            method=LinkMethod.REVIEW,
            score=locked.score,
            levels=locked.levels,
            user=user,
            reason=reason.strip(),
        )
        if link is None:  # linked meanwhile (e.g. automatically): keep that link
            link = PersonLink.objects.get(person_a=a, person_b=b, unlinked_at__isnull=True)
        locked.status, locked.decided_at, locked.decided_by = (
            ReviewStatus.CONFIRMED,
            timezone.now(),
            user,
        )
        locked.link = link
        locked.save(update_fields=["status", "decided_at", "decided_by", "link"])
        audit.record(
            "linkage.review.confirm",
            actor=user,
            object_type="review",
            object_ref=str(locked.pk),
            detail={"a": a.code, "b": b.code, "link": str(link.pk), "reason_given": bool(reason)},
        )
    return link


def reject(user: User, item: ReviewItem) -> ReviewItem:
    """Not the same person: the pair leaves the queue and is never queued again."""
    _require_decider(user)
    item = get_review_item(user, item.pk)
    with transaction.atomic():
        locked = _pending_for_update(user, item)
        locked.status, locked.decided_at, locked.decided_by = (
            ReviewStatus.REJECTED,
            timezone.now(),
            user,
        )
        locked.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(
            "linkage.review.reject",
            actor=user,
            object_type="review",
            object_ref=str(locked.pk),
            detail={"a": item.person_a.code, "b": item.person_b.code},
        )
    return locked


def get_link(user: User, link_id: Any) -> PersonLink:
    link = (
        _pairs_visible_to(user, PersonLink.objects.filter(pk=_as_uuid(link_id)))
        .select_related("person_a", "person_b", "created_by")
        .first()
    )
    if link is None:
        audit.record(
            "linkage.link.not_found", actor=user, object_type="link", object_ref=str(link_id)[:64]
        )
        raise NotFound(str(link_id))
    return link


def unlink(user: User, link: PersonLink, *, reason: str) -> PersonLink:
    """Undo a link (kept as history, with who, when and why); the model will not redo it."""
    _require_decider(user)
    link = get_link(user, link.pk)
    if not reason or not reason.strip():
        raise InvalidInput({"reason": "say why the link is wrong"})
    if len(reason) > 1000:
        raise InvalidInput({"reason": "at most 1000 characters"})
    with transaction.atomic():
        updated = PersonLink.objects.filter(pk=link.pk, unlinked_at__isnull=True).update(
            unlinked_at=timezone.now(), unlinked_by=user
        )
        if not updated:
            raise InvalidInput({"link": "this link was already undone"})
        link.refresh_from_db()
        link.unlink_reason = reason.strip()
        link.save(update_fields=["unlink_reason"])
        audit.record(
            "linkage.unlink",
            actor=user,
            object_type="link",
            object_ref=str(link.pk),
            detail={"a": link.person_a.code, "b": link.person_b.code},
        )
    return link


@dataclass
class ClusterMember:
    person: Person
    display_name: str | None  # None for analysts
    via: PersonLink  # the link that reached this person
    linked_from: str  # the public code on the other side of that link


def cluster_of(user: User, person: Person) -> list[ClusterMember]:
    """Everyone linked to `person`, directly or through others, that this user can see.

    The walk goes through visible people only: a link to someone the user may not see is
    neither shown nor followed, so a cluster cannot reveal another organisation's records.
    """
    visible = set(people.visible_people(user).values_list("pk", flat=True))
    if person.pk not in visible:
        raise NotFound(person.code)
    seen = {person.pk}
    frontier = [person.pk]
    members: list[ClusterMember] = []
    while frontier:
        links = (
            PersonLink.objects.filter(unlinked_at__isnull=True)
            .filter(Q(person_a_id__in=frontier) | Q(person_b_id__in=frontier))
            .select_related("person_a__organisation", "person_b__organisation", "created_by")
            .order_by("created_at")
        )
        frontier = []
        for link in links:
            for here, there in ((link.person_a, link.person_b), (link.person_b, link.person_a)):
                if here.pk in seen and there.pk not in seen and there.pk in visible:
                    seen.add(there.pk)
                    frontier.append(there.pk)
                    members.append(
                        ClusterMember(
                            person=there,
                            display_name=there.display_name if user.sees_identities else None,
                            via=link,
                            linked_from=here.code,
                        )
                    )
    audit.record(
        "linkage.cluster.read",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"members": [m.person.code for m in members]},
    )
    return members


def person_clusters(person_ids: Iterable[Any]) -> dict[Any, str]:
    """Cluster id per person: people joined by live same-person links form one individual.

    Only links with both ends among `person_ids` count — callers pass the people a user may
    see, so a cluster never reaches through records the user cannot see. The cluster id is
    the smallest member id (as text), so the same links always give the same ids.

    Steps: 1. read every live link once (ids only, no personal data); 2. union–find over the
    links whose both ends are in the set; 3. each person's id → its root.
    """
    ids = list(person_ids)
    parent: dict[Any, Any] = {pid: pid for pid in ids}

    def root(x: Any) -> Any:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the trees flat
            x = parent[x]
        return x

    live = PersonLink.objects.filter(unlinked_at__isnull=True)
    for a, b in live.values_list("person_a_id", "person_b_id").iterator(chunk_size=5000):
        if a in parent and b in parent:
            ra, rb = root(a), root(b)
            if ra != rb:
                low, high = sorted((ra, rb), key=str)
                parent[high] = low
    return {pid: str(root(pid)) for pid in ids}
