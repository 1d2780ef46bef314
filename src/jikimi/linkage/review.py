"""The review queue, links and clusters, for staff.

Access: a pair is visible only when the user can see both people (people.visible_people);
anything else is NotFound, so pages and API answer 404 and a code cannot be probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.audit import services as audit
from jikimi.lib import korean
from jikimi.linkage import calibration
from jikimi.linkage.candidates import Decrypted, _decrypted
from jikimi.linkage.linking import _create_link
from jikimi.linkage.queries import as_uuid
from jikimi.linkage.reappearance import REAPPEARANCE_STATUSES, _open_checkin_alert
from jikimi.linkage.scoring import (
    COMPARISONS,
    features_of,
    given_digests_of,
    level_bits,
    score_pair,
    term_frequencies,
)
from jikimi.people import services as people
from jikimi.people.models import IdentityKind, Person
from jikimi.people.services import InvalidInput, NotFound

from .models import LinkMethod, PersonLink, ReviewItem, ReviewStatus

#: Roles that may see the queue (analysts without names) and roles that may decide.
QUEUE_ROLES = ("admin", "supervisor", "caseworker", "analyst")
DECIDE_ROLES = ("admin", "supervisor", "caseworker")


def _require_queue(user: User) -> None:
    accounts.require_role(user, *QUEUE_ROLES)


def _require_decider(user: User) -> None:
    accounts.require_role(user, *DECIDE_ROLES)


def _pairs_visible_to(user: User, queryset: QuerySet) -> QuerySet:
    visible = people.visible_people(user).values("pk")
    return queryset.filter(person_a__in=visible, person_b__in=visible)


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
        _pairs_visible_to(user, ReviewItem.objects.filter(pk=as_uuid(item_id)))
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
    #: `score` recalibrated on the organisation's own review decisions (`calibration_for`),
    #: None until there are `calibration.MIN_DECISIONS` of them; and how many there are.
    calibrated: float | None = None
    decisions: int = 0


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


def calibration_for(user: User) -> tuple[calibration.Calibration | None, int]:
    """The recalibration of match probabilities fitted on the decisions about pairs the
    user's organisation sees (`calibration.fit_from_reviews`), and how many there are. Another
    organisation's decisions never shape what this one is shown."""
    _require_queue(user)
    return calibration.fit_from_reviews(items=_pairs_visible_to(user, ReviewItem.objects.all()))


def pair_view(user: User, item: ReviewItem) -> PairView:
    """The side-by-side view of a pair, re-scored now (identities may have changed)."""
    _require_queue(user)
    a, b = item.person_a, item.person_b
    decrypted = _decrypted([a, b])
    left, right = features_of(a, *decrypted[a.pk]), features_of(b, *decrypted[b.pk])
    # Name frequencies among the people the reviewer's organisation sees (both of the pair
    # are among them, or the pair would be NotFound).
    frequencies = term_frequencies(user.org_id, given_digests_of(left, right))
    scored = score_pair(left, right, frequencies)
    levels = scored.levels
    bits = level_bits(levels, scored.adjusted)
    fitted, decisions = calibration_for(user)
    view = PairView(
        item=item,
        score=scored.probability,
        frequencies=scored.frequencies,
        levels=[(f, levels[f], bits[f]) for f in COMPARISONS],
        left=_side(user, a, decrypted[a.pk]),
        right=_side(user, b, decrypted[b.pk]),
        calibrated=float(fitted.apply([scored.probability])[0]) if fitted else None,
        decisions=decisions,
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


def _decide(
    locked: ReviewItem,
    user: User,
    status: str,
    detail: dict[str, Any],
    *,
    link: PersonLink | None = None,
) -> None:
    """Record a reviewer's decision on a locked pending item, and audit it
    (`linkage.review.confirm` or `.reject`)."""
    locked.status, locked.decided_at, locked.decided_by = status, timezone.now(), user
    fields = ["status", "decided_at", "decided_by"]
    if link is not None:
        locked.link = link
        fields.append("link")
    locked.save(update_fields=fields)
    action = "confirm" if status == ReviewStatus.CONFIRMED else "reject"
    audit.record(
        f"linkage.review.{action}",
        actor=user,
        object_type="review",
        object_ref=str(locked.pk),
        detail=detail,
    )


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
        _decide(
            locked,
            user,
            ReviewStatus.CONFIRMED,
            {"a": a.code, "b": b.code, "link": str(link.pk), "reason_given": bool(reason)},
            link=link,
        )
    return link


def reject(user: User, item: ReviewItem) -> ReviewItem:
    """Not the same person: the pair leaves the queue and is never queued again."""
    _require_decider(user)
    item = get_review_item(user, item.pk)
    with transaction.atomic():
        locked = _pending_for_update(user, item)
        _decide(
            locked,
            user,
            ReviewStatus.REJECTED,
            {"a": item.person_a.code, "b": item.person_b.code},
        )
    return locked


def get_link(user: User, link_id: Any) -> PersonLink:
    link = (
        _pairs_visible_to(user, PersonLink.objects.filter(pk=as_uuid(link_id)))
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
