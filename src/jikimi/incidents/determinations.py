"""Return determinations (DESIGN §5) and capture records of acts for the estimates (§7).

**Returnee** (the definition every page, the API and the estimates use): a person who is the
victim of an act, recorded by the user's organisation, of one of the types that put a person
back in the North — ``abduction`` (completed; an attempt is not a return),
``forced_repatriation``, ``claimed_voluntary_return`` or ``nk_media_appearance`` (a person
shown by the North's media is in the North) — or who already has a determination of the
organisation (a finding stays listed even if the act that prompted it is later corrected).

A **determination** is a finding of the organisation on why a returnee went back: one of the
``determination`` vocabulary's terms (abduction, forced repatriation, coercion through family,
lure, voluntary, undetermined), a confidence (low, medium, high), the reviewer, a rationale
(encrypted) and the acts and sources' information that support or contradict each reading.
Every revision is its own row, never changed; the newest is flagged ``current``.

Access is that of incidents: the person through ``people.services.get_person`` (404 when not
visible), then only a returnee of the user's organisation (404 otherwise, never 403); every
read and write is audited. Supervisors, case workers and admins record revisions; analysts and
auditors read (pseudonymous: no names, no rationale text, no source names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Organisation, User
from jikimi.audit import services as audit
from jikimi.core.errors import InvalidInput, NotFound
from jikimi.people import services as people
from jikimi.people.models import Person

from .models import (
    Act,
    Confidence,
    DeterminationLink,
    Information,
    ReturnDetermination,
    Stance,
    Term,
)
from .services import _label

__all__ = [
    "RETURN_ACT_TYPES",
    "capture_lists",
    "capture_records",
    "determination_page",
    "get_returnee",
    "list_returnees",
    "record_determination",
]

RETURN_ACT_TYPES = (
    "abduction",
    "forced_repatriation",
    "claimed_voluntary_return",
    "nk_media_appearance",
)
RATIONALE_MAX = 20000
VOCABULARY = "determination"
NO_DETERMINATION = "none"  # the list filter for returnees without a determination yet


def can_record(user: User) -> bool:
    return bool(user.is_authenticated and accounts.can_edit_people(user))


def _org(user: User) -> int:
    """The user's organisation's id; 0 (no organisation has it: nothing is found) for none."""
    if not user.is_authenticated:
        return 0
    return user.organisation_id or 0


def _return_acts(org_id: int) -> QuerySet[Act]:
    return Act.objects.filter(organisation_id=org_id, act_type__code__in=RETURN_ACT_TYPES)


def _returnees(org_id: int) -> QuerySet[Person]:
    if not org_id:
        return Person.objects.none()
    return Person.objects.filter(
        Exists(_return_acts(org_id).filter(victim=OuterRef("pk")))
        | Exists(ReturnDetermination.objects.filter(organisation_id=org_id, person=OuterRef("pk")))
    )


def get_returnee(user: User, code: str) -> Person:
    """The person of this code if visible to the user and a returnee of their organisation;
    NotFound (404) otherwise. The person read is audited by people.services."""
    person = people.get_person(user, str(code).strip()[:64], purpose="return_determination")
    if not _returnees(_org(user)).filter(pk=person.pk).exists():
        audit.record(
            "determination.not_found",
            actor=user,
            object_type="person",
            object_ref=person.code,
        )
        raise NotFound(code)
    return person


# --- The list --------------------------------------------------------------------------------


@dataclass
class ReturneeRow:
    code: str
    name: str | None  # None for roles with pseudonymous data only
    determination: str  # the term's code, "" when none yet
    determination_label: str
    confidence: str
    reviewer: str
    date: dt.datetime | None
    revisions: int


def list_returnees(
    user: User, *, determination: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[ReturneeRow], int]:
    """Every returnee of the user's organisation with their current determination, by person
    code; `determination` filters by a term's code, or `none` for those without one."""
    org_id = _org(user)
    qs = _returnees(org_id)
    current = ReturnDetermination.objects.filter(
        organisation_id=org_id, person=OuterRef("pk"), current=True
    )
    if determination == NO_DETERMINATION:
        qs = qs.filter(~Exists(current))
    elif determination:
        if not Term.objects.filter(vocabulary=VOCABULARY, code=determination).exists():
            raise InvalidInput({"determination": _("unknown determination")})
        qs = qs.filter(Exists(current.filter(determination__code=determination)))
    qs = qs.annotate(current_id=Subquery(current.values("pk")[:1])).order_by("code")
    total = qs.count()
    persons = list(qs[offset : offset + limit])
    found = {
        d.pk: d
        for d in ReturnDetermination.objects.filter(
            pk__in=[p.current_id for p in persons if p.current_id]
        ).select_related("determination", "reviewer")
    }
    counts: dict[Any, int] = {}
    for person_id in ReturnDetermination.objects.filter(
        organisation_id=org_id, person__in=persons
    ).values_list("person_id", flat=True):
        counts[person_id] = counts.get(person_id, 0) + 1
    names = people.display_names(user, persons)
    rows = []
    for p in persons:
        d = found.get(p.current_id)
        rows.append(
            ReturneeRow(
                code=p.code,
                name=names.get(p.pk),
                determination=d.determination.code if d else "",
                determination_label=_label(d.determination) if d else "",
                confidence=d.confidence if d else "",
                reviewer=_reviewer(d),
                date=d.created_at if d else None,
                revisions=counts.get(p.pk, 0),
            )
        )
    audit.record(
        "determination.list",
        actor=user,
        object_type="person",
        detail={"filter": determination, "people": [r.code for r in rows]},
    )
    return rows, total


def _reviewer(d: ReturnDetermination | None) -> str:
    if d is None or d.reviewer is None:
        return ""
    return d.reviewer.get_username()


# --- One returnee's page ---------------------------------------------------------------------


@dataclass
class InformationItem:
    id: int
    source_kind: str
    source: str | None  # a named source's name (roles that see identities only)
    reliability: str
    credibility: str
    whole_event: bool  # the source speaks of the act's whole event


@dataclass
class ActItem:
    id: str
    event: str
    act_type: str
    act_type_label: str
    date: str
    place: str
    information: list[InformationItem]


@dataclass
class LinkItem:
    reading: str
    reading_label: str
    stance: str
    act: str | None  # the act's id
    act_label: str
    information: int | None
    information_label: str


@dataclass
class Revision:
    revision: int
    current: bool
    determination: str
    determination_label: str
    confidence: str
    rationale: str | None  # None for roles with pseudonymous data only
    reviewer: str
    created_at: dt.datetime
    links: list[LinkItem]


@dataclass
class Reading:
    """One reading (a determination term) with the evidence for and against it."""

    code: str
    label: str
    supports: list[LinkItem] = field(default_factory=list)
    contradicts: list[LinkItem] = field(default_factory=list)


@dataclass
class DeterminationPage:
    person: str
    name: str | None
    acts: list[ActItem]
    current: Revision | None
    history: list[Revision]  # newest first, the current one included
    readings: list[Reading]  # of the current revision, in the vocabulary's order


def _acts_of_person(org_id: int, person: Person) -> list[Act]:
    return list(
        Act.objects.filter(organisation_id=org_id, victim=person)
        .select_related("act_type", "place", "event")
        .order_by("date_start", "id")
    )


def _information_of(acts: Sequence[Act]) -> dict[Any, list[Information]]:
    """Per act: its own information links, then those of its whole event."""
    ids = [a.pk for a in acts]
    events = {a.event_id for a in acts}
    found: dict[Any, list[Information]] = {a.pk: [] for a in acts}
    by_event: dict[Any, list[Information]] = {}
    for info in (
        Information.objects.filter(Q(act_id__in=ids) | Q(event_id__in=events, act__isnull=True))
        .select_related("source__kind")
        .order_by("id")
    ):
        if info.act_id is not None:
            found[info.act_id].append(info)
        else:
            by_event.setdefault(info.event_id, []).append(info)
    for a in acts:
        found[a.pk].extend(by_event.get(a.event_id, []))
    return found


def _act_label(act: Act) -> str:
    return f"{act.event.code} · {_label(act.act_type)} · {act.date_text}"


def _information_label(info: Information, show: bool) -> str:
    kind = _label(info.source.kind) if info.source.kind else ""
    name = info.source.label if show and info.source.label else ""
    grade = f"{info.reliability}{info.credibility}"
    return " · ".join(part for part in (kind, name, grade) if part)


def determination_page(user: User, person: Person) -> DeterminationPage:
    """A returnee got from `get_returnee`: their acts and sources, the current determination
    with the evidence for and against each reading, and every revision. Audited."""
    org_id = _org(user)
    show = user.sees_identities
    acts = _acts_of_person(org_id, person)
    infos = _information_of(acts)
    act_items = [
        ActItem(
            id=str(a.pk),
            event=a.event.code,
            act_type=a.act_type.code,
            act_type_label=_label(a.act_type),
            date=a.date_text,
            place=_label(a.place) if a.place else "",
            information=[
                InformationItem(
                    id=i.pk,
                    source_kind=_label(i.source.kind) if i.source.kind else "",
                    source=(i.source.label if show else None),
                    reliability=i.reliability,
                    credibility=i.credibility,
                    whole_event=i.act_id is None,
                )
                for i in infos[a.pk]
            ],
        )
        for a in acts
    ]
    revisions = list(
        ReturnDetermination.objects.filter(organisation_id=org_id, person=person)
        .select_related("determination", "reviewer")
        .order_by("-revision")
    )
    links: dict[Any, list[LinkItem]] = {}
    for link in (
        DeterminationLink.objects.filter(determination__in=revisions)
        .select_related("reading", "act__act_type", "act__event", "information__source__kind")
        .order_by("id")
    ):
        links.setdefault(link.determination_id, []).append(
            LinkItem(
                reading=link.reading.code,
                reading_label=_label(link.reading),
                stance=link.stance,
                act=str(link.act_id) if link.act_id else None,
                act_label=_act_label(link.act) if link.act else "",
                information=link.information_id,
                information_label=(
                    _information_label(link.information, show) if link.information else ""
                ),
            )
        )
    history = [
        Revision(
            revision=d.revision,
            current=d.current,
            determination=d.determination.code,
            determination_label=_label(d.determination),
            confidence=d.confidence,
            rationale=d.rationale if show else None,
            reviewer=_reviewer(d),
            created_at=d.created_at,
            links=links.get(d.pk, []),
        )
        for d in revisions
    ]
    current = next((r for r in history if r.current), None)
    readings = [Reading(t.code, _label(t)) for t in _vocabulary(include_retired=True)]
    by_code = {r.code: r for r in readings}
    for item in current.links if current else []:
        found = by_code.get(item.reading)
        if found is not None:
            (found.supports if item.stance == Stance.SUPPORTS else found.contradicts).append(item)
    audit.record(
        "determination.read",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"revisions": len(history)},
    )
    return DeterminationPage(
        person=person.code,
        name=people.display_names(user, [person]).get(person.pk),
        acts=act_items,
        current=current,
        history=history,
        readings=readings,
    )


def _vocabulary(*, include_retired: bool = False) -> list[Term]:
    qs = Term.objects.filter(vocabulary=VOCABULARY)
    if not include_retired:
        qs = qs.filter(retired=False)
    return list(qs.order_by("order", "code"))


def determination_choices() -> list[tuple[str, str]]:
    return [(t.code, _label(t)) for t in _vocabulary()]


# --- Writes ----------------------------------------------------------------------------------


def record_determination(
    user: User,
    person: Person,
    *,
    determination: str,
    confidence: str,
    rationale: str,
    links: Iterable[Mapping[str, Any]] = (),
) -> ReturnDetermination:
    """A new revision of the returnee's determination (a person got from `get_returnee`),
    flagged current; the earlier ones are kept. A link: ``{"reading": term code, "stance":
    "supports" | "contradicts", "act": act id}`` or ``{..., "information": id}``, an act of
    this person or a source's information on one of them. Bad input: InvalidInput naming the
    field (``links[2].stance``), nothing written."""
    if not can_record(user):
        raise accounts.AccessDenied(
            gettext(
                "Only case workers, supervisors and administrators record return determinations."
            )
        )
    org_id = _org(user)
    errors: dict[str, Any] = {}
    terms = {t.code: t for t in _vocabulary(include_retired=True)}
    chosen = terms.get(str(determination or "").strip())
    if chosen is None:
        errors["determination"] = _("choose one of the determinations")
    elif chosen.retired:
        errors["determination"] = _("this determination is retired")
    if confidence not in Confidence.values:
        errors["confidence"] = _("choose low, medium or high")
    rationale = str(rationale or "").strip()
    if not rationale:
        errors["rationale"] = _("is empty (required)")
    elif len(rationale) > RATIONALE_MAX:
        errors["rationale"] = _("longer than %(limit)s characters") % {"limit": RATIONALE_MAX}
    acts = {str(a.pk): a for a in _acts_of_person(org_id, person)}
    infos = {i.pk: i for group in _information_of(list(acts.values())).values() for i in group}
    new_links: list[DeterminationLink] = []
    for n, link in enumerate(links):
        path = f"links[{n}]"
        reading = terms.get(str(link.get("reading") or "").strip())
        if reading is None:
            errors[f"{path}.reading"] = _("choose one of the determinations")
        stance = str(link.get("stance") or "").strip()
        if stance not in Stance.values:
            errors[f"{path}.stance"] = _("choose supports or contradicts")
        act = info = None
        if link.get("act"):
            act = acts.get(str(link["act"]).strip())
            if act is None:
                errors[f"{path}.act"] = _("not an act about this person")
        elif link.get("information") not in (None, ""):
            try:
                info = infos.get(int(link["information"]))
            except (TypeError, ValueError):
                info = None
            if info is None:
                errors[f"{path}.information"] = _("not a source of an act about this person")
        else:
            errors[f"{path}.act"] = _("give an act or a source's information")
        if reading is not None and stance in Stance.values and (act or info):
            new_links.append(
                DeterminationLink(reading=reading, stance=stance, act=act, information=info)
            )
    if errors:
        raise InvalidInput(errors)
    assert chosen is not None  # noqa: S101 - checked above
    organisation = Organisation.objects.get(pk=org_id)
    with transaction.atomic():
        # The person's row is the lock (read only): two reviewers saving at once get
        # revisions n and n + 1, never the same number.
        list(Person.objects.select_for_update().filter(pk=person.pk).values_list("pk"))
        earlier = list(
            ReturnDetermination.objects.filter(
                organisation=organisation, person=person
            ).values_list("revision", flat=True)
        )
        ReturnDetermination.objects.filter(
            organisation=organisation, person=person, current=True
        ).update(current=False)
        row = ReturnDetermination.objects.create(
            organisation=organisation,
            person=person,
            revision=max(earlier, default=0) + 1,
            current=True,
            determination=chosen,
            confidence=confidence,
            rationale=rationale,
            reviewer=user,
        )
        for new in new_links:
            new.determination = row
        DeterminationLink.objects.bulk_create(new_links)
        audit.record(
            "determination.write",
            actor=user,
            object_type="person",
            object_ref=person.code,
            detail={
                "revision": row.revision,
                "determination": chosen.code,
                "confidence": confidence,
                "links": len(new_links),
            },
        )
    return row


# --- Capture records for the estimates (DESIGN §7) ------------------------------------------

CAPTURE_STRATA = ("act_type", "determination")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class CaptureRecord:
    """A person is on a list (a source kind's code) within a stratum (an act type's code or
    the person's current determination; None when not stratified)."""

    person_id: Any
    list: str
    stratum: str | None


def _capture_query(org_id: int, act_types: Sequence[str] | None):
    acts = Act.objects.filter(organisation_id=org_id)
    acts = acts.filter(act_type__code__in=list(act_types or RETURN_ACT_TYPES))
    return acts


def _collect(
    org_id: int,
    act_types: Sequence[str] | None,
    wanted: set[str] | None,
    stratify_by: str | None,
) -> set[CaptureRecord]:
    acts = _capture_query(org_id, act_types)
    current = dict(
        ReturnDetermination.objects.filter(organisation_id=org_id, current=True).values_list(
            "person_id", "determination__code"
        )
    )
    rows = list(acts.values_list("pk", "event_id", "victim_id", "act_type__code"))
    kinds_of_act: dict[Any, set[str]] = {}
    kinds_of_event: dict[Any, set[str]] = {}
    info = Information.objects.filter(
        Q(act__in=acts) | Q(act__isnull=True, event__acts__in=acts), source__kind__isnull=False
    ).values_list("act_id", "event_id", "source__kind__code")
    for act_id, event_id, kind in info.distinct():
        if act_id is not None:
            kinds_of_act.setdefault(act_id, set()).add(kind)
        else:
            kinds_of_event.setdefault(event_id, set()).add(kind)
    out: set[CaptureRecord] = set()
    for act_id, event_id, victim_id, act_type in rows:
        found = current.get(victim_id)
        if wanted and (found or NO_DETERMINATION) not in wanted:
            continue
        if stratify_by == "act_type":
            stratum: str | None = act_type
        elif stratify_by == "determination":
            stratum = found or UNKNOWN
        else:
            stratum = None
        for kind in kinds_of_act.get(act_id, set()) | kinds_of_event.get(event_id, set()):
            out.add(CaptureRecord(victim_id, kind, stratum))
    return out


def capture_records(
    user: User,
    *,
    act_types: Sequence[str] | None = None,
    determinations: Sequence[str] | None = None,
    stratify_by: str | None = None,
) -> list[CaptureRecord]:
    """(person, list, stratum) for every act of the user's organisation of `act_types`
    (default: the return types) and every source kind with information on it (the act's own
    links and its whole event's). `determinations` keeps only the victims whose current
    determination is one of them (``none``: those without one). Persons are ids, no personal
    data; the caller (the estimates app) checks its role. Audited as counts only."""
    if stratify_by not in (None, *CAPTURE_STRATA):
        raise InvalidInput({"stratify_by": _("choose act_type or determination")})
    wanted = set(determinations or ())
    out = _collect(_org(user), act_types, wanted, stratify_by)
    audit.record(
        "incident.capture_records",
        actor=user,
        object_type="incident",
        detail={
            "act_types": sorted(act_types or RETURN_ACT_TYPES),
            "determinations": sorted(wanted),
            "stratify_by": stratify_by,
            "records": len(out),
        },
    )
    return sorted(out, key=lambda r: (str(r.person_id), r.list, r.stratum or ""))


def capture_lists(user: User, *, act_types: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """Each source kind with information on the organisation's acts of `act_types`, with the
    number of people it names (for the estimates' choice of lists)."""
    people_of: dict[str, set] = {}
    for record in _collect(_org(user), act_types, None, None):
        people_of.setdefault(record.list, set()).add(record.person_id)
    return sorted((kind, len(ids)) for kind, ids in people_of.items())
