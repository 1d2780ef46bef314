"""Linking people in the application (DESIGN §1, §6): continuously, after the commit.

Every new person, and every new name or birth-date identity, is compared with the people
its organisation can see. Candidates come from the blind index (no name is ever compared in
SQL, `candidates.py`), are scored in Python with the comparison spec (`scoring.py`), and
then linked (above the upper threshold), queued for review (between) or dropped (below).
Links are reversible rows (models.PersonLink); nothing is merged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.linkage.candidates import _candidates, _decrypted, _load_features, _search_digests
from jikimi.linkage.queries import as_uuid, parts
from jikimi.linkage.reappearance import _raise_reappearance
from jikimi.linkage.scoring import (
    RecordFeatures,
    TermFrequencies,
    features_of,
    given_digests_of,
    score_pair,
    term_frequencies,
)
from jikimi.people.models import Person

from .models import LinkMethod, PersonLink, ReviewItem, ReviewStatus

log = logging.getLogger(__name__)

#: Match probability at or above which a pair is linked without a person deciding.
AUTO_LINK_THRESHOLD = 0.95
#: Match probability at or above which (and below the upper one) a pair goes to review.
REVIEW_THRESHOLD = 0.5


def thresholds(organisation_slug: str | None = None) -> tuple[float, float]:
    """(review, auto-link) thresholds: module constants unless the settings override them.

    `JIKIMI_LINKAGE_THRESHOLDS = {"default": (0.5, 0.95), "<organisation slug>": (0.6, 0.97)}`
    """
    configured = getattr(django_settings, "JIKIMI_LINKAGE_THRESHOLDS", None) or {}
    low, high = configured.get(
        organisation_slug, configured.get("default", (REVIEW_THRESHOLD, AUTO_LINK_THRESHOLD))
    )
    return float(low), float(high)


def _ordered(a: Person, b: Person) -> tuple[Person, Person]:
    """The canonical order of a pair: smaller primary key first."""
    return (a, b) if str(a.pk) < str(b.pk) else (b, a)


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
    for ids in parts(wanted):
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
    for ids in parts(list(people)):
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
    return as_uuid(value)


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
    for part in parts(ids, BATCH_CHUNK):
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
