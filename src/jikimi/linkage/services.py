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
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.core.crypto import blind_index, normalise_for_index
from jikimi.linkage import engine, korean
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
    pairs = engine.predict_pairs(
        derived, model, backend=backend, threshold=None if all_pairs else threshold
    )
    timings["predict"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clusters = engine.cluster_records(derived["record_id"].tolist(), pairs, threshold)
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
COMPARISONS: dict[str, tuple[str, ...]] = {
    "surname": NAME_LEVELS,
    "given_name": NAME_LEVELS,
    "birth_date": ("full", "year_month", "year", "year_pm1", "else"),
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
        "else": (0.02, 0.956),
    },
    "birth_date": {
        "full": (0.70, 0.0001),
        "year_month": (0.10, 0.001),
        "year": (0.15, 0.025),
        "year_pm1": (0.04, 0.05),
        "else": (0.01, 0.9239),
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

    def bits(self, comparison: str, level: str) -> float:
        if level == "null":
            return 0.0
        m, u = self.m_u[comparison][level]
        return math.log2(max(m, 1e-12) / max(u, 1e-12))


def weights_from_model(model: dict[str, Any] | None) -> Weights:
    """Weights from a trained `jikimi link` model (versioned JSON), else the defaults."""
    if not model or "splink_model" not in model:
        return Weights(DEFAULT_PRIOR, DEFAULT_M_U)
    splink_model = model["splink_model"]
    m_u = {name: dict(levels) for name, levels in DEFAULT_M_U.items()}
    for comparison in splink_model.get("comparisons", []):
        name = comparison.get("output_column_name")
        if name not in COMPARISONS:
            continue
        # The pages score without sources: the alias level (`engine.ALIAS_LEVEL_LABEL`) is
        # left out and such a pair is scored on the plain "else" level.
        levels = [
            lv
            for lv in comparison["comparison_levels"]
            if not lv.get("is_null_level")
            and lv.get("label_for_charts") != engine.ALIAS_LEVEL_LABEL
        ]
        if len(levels) != len(COMPARISONS[name]):
            continue  # a model of another shape: keep the defaults for this field
        for label, level in zip(COMPARISONS[name], levels, strict=True):
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is not None and u is not None:
                m_u[name][label] = (float(m), float(u))
    prior = float(splink_model.get("probability_two_random_records_match", DEFAULT_PRIOR))
    return Weights(prior, m_u)


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


def features_of(
    person: Any, names: Iterable[str], birth_dates: Iterable[str], counties: Iterable[str] = ()
) -> RecordFeatures:
    """Derive the engine's columns from a person's decrypted names and birth dates."""
    columns = [engine._name_columns(name, "") for name in names if name and name.strip()]
    columns = [c for c in columns if c["surname_keys"] or c["given_keys"]]
    best: tuple[int | None, int | None, int | None] | None = None
    for text in birth_dates:
        parsed = engine.parse_birth_date(text)
        if parsed and (
            best is None or sum(p is not None for p in parsed) > sum(p is not None for p in best)
        ):
            best = parsed
    year, month, day = best if best else (person.birth_year, None, None)
    province = person.province or None
    if province and not province.startswith("KP-"):
        province = korean.province_code(province)
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
    )


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


def _name_level(left: dict, right: dict, fine: str, key: str) -> str:
    if not (left[fine] and left[key] and right[fine] and right[key]):
        return "null"
    if set(left[fine]) & set(right[fine]):
        return "keys_intersect"
    if left[key] == right[key]:
        return "exact"
    distance = _levenshtein(left[key], right[key], 2)
    return "lev1" if distance <= 1 else "lev2" if distance <= 2 else "else"


def _exact_level(left: Any, right: Any) -> str:
    if left is None or right is None:
        return "null"
    return "exact" if left == right else "else"


def compare(left: RecordFeatures, right: RecordFeatures) -> dict[str, str]:
    """The comparison level of every field, for the best-agreeing pair of names."""
    levels: dict[str, str] = {}
    if left.birth_year is None or right.birth_year is None:
        levels["birth_date"] = "null"
    elif left.birth_full and left.birth_full == right.birth_full:
        levels["birth_date"] = "full"
    elif left.birth_ym and left.birth_ym == right.birth_ym:
        levels["birth_date"] = "year_month"
    elif left.birth_year == right.birth_year:
        levels["birth_date"] = "year"
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
    weights = current_weights()
    best_names, best_bits = {"surname": "null", "given_name": "null"}, -math.inf
    for ln in left.names:
        for rn in right.names:
            names = {
                "surname": _name_level(ln, rn, "surname_keys", "surname_group"),
                "given_name": _name_level(ln, rn, "given_keys", "given_key"),
            }
            bits = sum(weights.bits(field_, level) for field_, level in names.items())
            if bits > best_bits:
                best_names, best_bits = names, bits
    return {**best_names, **levels}


def match_probability(levels: dict[str, str], weights: Weights | None = None) -> float:
    weights = weights or current_weights()
    bits = math.log2(weights.prior / (1 - weights.prior))
    bits += sum(weights.bits(field_, level) for field_, level in levels.items())
    return 1.0 / (1.0 + 2.0 ** (-bits))


def level_bits(levels: dict[str, str]) -> dict[str, float]:
    """Each field's contribution in bits, for the side-by-side view."""
    weights = current_weights()
    return {field_: round(weights.bits(field_, level), 1) for field_, level in levels.items()}


# --- Candidates and decisions ------------------------------------------------------------


def _ordered(a: Person, b: Person) -> tuple[Person, Person]:
    """The canonical order of a pair: smaller primary key first."""
    return (a, b) if str(a.pk) < str(b.pk) else (b, a)


def _decrypted(people: list[Person]) -> dict[Any, tuple[list[str], list[str], list[str]]]:
    """Names, birth dates and counties of `people`, decrypted here only (never logged)."""
    out: dict[Any, tuple[list[str], list[str], list[str]]] = {p.pk: ([], [], []) for p in people}
    for ident in Identity.objects.filter(
        person_id__in=list(out), kind__in=(IdentityKind.NAME, IdentityKind.BIRTH_DATE)
    ).order_by("-is_primary", "created_at"):
        out[ident.person_id][0 if ident.kind == IdentityKind.NAME else 1].append(ident.value)
    for person_id, county in SourceRecord.objects.filter(person_id__in=list(out)).values_list(
        "person_id", "county"
    ):
        out[person_id][2].append(county)
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
    if len(cache) + len(found) > FEATURE_CACHE_SIZE:
        cache.clear()  # bounded memory for very large batches; correctness is unaffected
    cache.update(found)
    return {p.pk: cache[p.pk] for p in people}


def _seen_by(organisation_id: int) -> Q:
    """IdentityIndex rows of the people an organisation can see (own and shared)."""
    return Q(organisation_id=organisation_id) | Q(
        person_id__in=accounts.shared_person_ids(organisation_id)
    )


def candidate_ids(person: Person, features: RecordFeatures, names: Iterable[str]) -> list[Any]:
    """Other people the organisation can see that may be this person (blocking).

    1. Full-name keys (`search_keys`, every spelling) and the exact birth date, through the
       blind index: the same digest means the same normalised key.
    2. Given-name keys (`g:` of `index_keys`) with the same birth year: catches a surname
       misspelt beyond recognition.
    3. No name in common but the same birth year, sex and province: aliases.
    """
    org = person.organisation_id
    full_keys: set[str] = set()
    given_keys: set[str] = set()
    for name in names:
        full_keys |= {blind_index("name", k) for k in korean.search_keys(name)}
        given_keys |= {
            blind_index("name", k) for k in korean.index_keys(name) if k.startswith("g:")
        }
    if features.birth_full:
        full_keys.add(blind_index("birth_date", normalise_for_index(features.birth_full)))
    index = IdentityIndex.objects.filter(_seen_by(org)).exclude(person_id=person.pk)
    found: list[Any] = list(
        index.filter(digest__in=full_keys)
        .values_list("person_id", flat=True)
        .distinct()[:MAX_CANDIDATES]
    )
    if features.birth_year and given_keys and len(found) < MAX_CANDIDATES:
        found += (
            index.filter(digest__in=given_keys, person__birth_year=features.birth_year)
            .values_list("person_id", flat=True)
            .distinct()[: MAX_CANDIDATES - len(found)]
        )
    if features.birth_year and features.sex and person.province and len(found) < MAX_CANDIDATES:
        seen = Q(organisation_id=org) | Q(id__in=accounts.shared_person_ids(org))
        found += (
            Person.objects.filter(seen)
            .filter(birth_year=features.birth_year, sex=features.sex, province=person.province)
            .exclude(pk=person.pk)
            .values_list("pk", flat=True)[: MAX_CANDIDATES - len(found)]
        )
    return list(dict.fromkeys(found))


@dataclass
class LinkOutcome:
    linked: list[PersonLink] = field(default_factory=list)
    queued: list[ReviewItem] = field(default_factory=list)
    dropped: int = 0


def _decided_pairs(person: Person) -> set[tuple[str, str]]:
    """Pairs a person or the model already settled: live or undone links, decided reviews.

    An undone link or a rejected pair is a human decision; the model never reopens it.
    """
    pairs: set[tuple[str, str]] = set()
    for model, extra in ((PersonLink, Q()), (ReviewItem, ~Q(status=ReviewStatus.PENDING))):
        rows = model.objects.filter(Q(person_a=person) | Q(person_b=person)).filter(extra)
        pairs |= {(str(a), str(b)) for a, b in rows.values_list("person_a_id", "person_b_id")}
    return pairs


def link_people(
    person_ids: Iterable[Any], *, on_failure: Callable[[Any, Exception], None] | None = None
) -> LinkOutcome:
    """`link_person` for many people (an import, a batch of saves in one transaction),
    sharing decrypted candidate features between them: an import of thousands of people of
    one organisation compares mostly the same candidates over and over.

    Each person is linked in its own transaction, so one failure does not undo the others:
    it goes to `on_failure(person_id, exc)` (or is raised when none is given).
    """
    total = LinkOutcome()
    cache: dict[Any, RecordFeatures] = {}
    for person_id in dict.fromkeys(person_ids):
        try:
            outcome = link_person(person_id, features_cache=cache)
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
    person_id: Any, *, features_cache: dict[Any, RecordFeatures] | None = None
) -> LinkOutcome:
    """Compare one person with the people their organisation can see; link, queue or drop.

    Called after a person or a name/birth-date identity is saved (signals.py). Idempotent:
    a pair already linked, unlinked or decided is left alone; a pending pair is re-scored.
    `features_cache` is `link_people`'s.
    """
    outcome = LinkOutcome()
    person = Person.objects.select_related("organisation").filter(pk=person_id).first()
    if person is None:
        return outcome
    low, high = thresholds(person.organisation.slug)
    with transaction.atomic():
        names, births, counties = _decrypted([person])[person.pk]
        own = features_of(person, names, births, counties)
        ids = candidate_ids(person, own, names)
        if not ids:
            return outcome
        decided = _decided_pairs(person)
        candidates = [
            c
            for c in Person.objects.filter(pk__in=ids).select_related("organisation")
            if tuple(str(p.pk) for p in _ordered(person, c)) not in decided
        ]
        features = _load_features(candidates, features_cache)
        pending = {
            (item.person_a_id, item.person_b_id): item
            for item in ReviewItem.objects.filter(
                Q(person_a=person) | Q(person_b=person), status=ReviewStatus.PENDING
            )
        }
        for candidate in candidates:
            levels = compare(own, features[candidate.pk])
            score = match_probability(levels)
            a, b = _ordered(person, candidate)
            item = pending.get((a.pk, b.pk))
            if score >= high:
                link = _create_link(a, b, method=LinkMethod.AUTO, score=score, levels=levels)
                if link is not None:
                    outcome.linked.append(link)
                    if item is not None:  # the model is now sure: the pair leaves the queue
                        item.status, item.decided_at, item.link = (
                            ReviewStatus.CONFIRMED,
                            timezone.now(),
                            link,
                        )
                        item.save(update_fields=["status", "decided_at", "link"])
            elif score >= low:
                outcome.queued.append(
                    _queue(a, b, score=score, levels=levels, organisation_id=person.organisation_id)
                )
            else:
                if item is not None:  # no longer plausible (its facts changed)
                    item.delete()
                outcome.dropped += 1
    return outcome


def _queue(
    a: Person, b: Person, *, score: float, levels: dict[str, str], organisation_id: int
) -> ReviewItem:
    item, created = ReviewItem.objects.get_or_create(
        person_a=a, person_b=b, defaults={"score": score, "levels": levels}
    )
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


def _raise_reappearance(link: PersonLink, a: Person, b: Person) -> None:
    """A record now linked to a missing or detained person: tell that person's staff.

    The key names the pair, so the alert is raised once however often the pair is linked,
    unlinked and linked again, and whichever process gets there first.
    """
    from jikimi.checkins import services as checkins

    for person, other in ((a, b), (b, a)):
        if person.status not in REAPPEARANCE_STATUSES and not has_open_checkin_alert(person):
            continue
        checkins.raise_staff_alert(
            organisation_id=person.organisation_id,
            kind=REAPPEARANCE_ALERT_KIND,
            key=f"reappearance:{person.code}:{other.code}",
            detail={
                "person": person.code,
                "linked_person": other.code,
                "status": person.status,
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


def review_queue(user: User, *, offset: int = 0, limit: int = 50) -> tuple[list[ReviewItem], int]:
    """Pending pairs both of whose people the user can see, highest score first."""
    _require_queue(user)
    pending = _pairs_visible_to(user, ReviewItem.objects.filter(status=ReviewStatus.PENDING))
    total = pending.count()
    items = list(
        pending.select_related("person_a__organisation", "person_b__organisation").order_by(
            "-score", "created_at", "id"
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


def _side(
    user: User, person: Person, decrypted: tuple[list[str], list[str], list[str]]
) -> SideView:
    sources = sorted(
        set(SourceRecord.objects.filter(person=person).values_list("source", flat=True))
    )
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
    levels = compare(features_of(a, *decrypted[a.pk]), features_of(b, *decrypted[b.pk]))
    bits = level_bits(levels)
    view = PairView(
        item=item,
        score=match_probability(levels),
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
