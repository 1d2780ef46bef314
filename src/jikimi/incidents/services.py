"""Events, acts, involvements and graded sources: the one place incidents are read and written.

Every function takes the acting user, checks access here (so pages, API and CLI cannot
differ) and writes the audit log. An event belongs to one organisation; another
organisation's event, act or evidence is `NotFound` (404), never 403, unless the owner shared
the event with it (`share_event`, an `EventGrant`). `events_seen_by` is the one definition of
which events an organisation sees, used by every read here and in `evidence.py`.

A shared event is read-only for the grantee: every write (`get_event` with a write purpose,
`require_event_owner`) is `ReadOnlyAccess` (403: the grantee knows the event exists), and a
grantee cannot pass the event on. An event names several victims, and sharing it shares none
of them: the grantee sees the event, its acts, involvements, graded sources and evidence
metadata, but a victim's code, name and details only when that person is visible to it anyway
(its own, or shared by a people SharingGrant); any other victim is "a victim not shared with
you" (`ActRow.victim_hidden`). The same holds for a perpetrator person, a named source's name
(a witness or informant the owner holds in confidence) and the owner's staff names, reasons
and other free text about a hidden victim. Reads through a grant are audited with
`via_grant` (in the grantee's log; `get_event` in the owner's too).

Victims are person records: a victim typed in a form becomes a person through
`jikimi.people.services` (create_person + add_identity), an imported one through the
person-record importer's creation (with its source record), so linkage sees them after the
commit and a missing person who appears in an act raises the reappearance alert.

`record_event` validates everything first (`validate_event`) and writes all or nothing in one
transaction; every problem is a field-named, translated message (`InvalidInput`): nested
fields are named by their path, e.g. `acts[1].information[0].source_reliability`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Organisation, User
from jikimi.audit import services as audit
from jikimi.core.codes import give_unique_codes, is_public_code, uuid7
from jikimi.core.crypto import blind_index, normalise_for_index
from jikimi.core.errors import InvalidInput, NotFound, ReadOnlyAccess
from jikimi.core.sql import (
    BackgroundWriter,
    Rows,
    concrete_field,
    granted_ids,
    own_or_granted,
    refresh_statistics,
)
from jikimi.lib import dates, gazetteer, records
from jikimi.lib.i18n import gettext_noop
from jikimi.people import services as people
from jikimi.people.models import Person

from . import summary
from .models import (
    Act,
    Event,
    EventGrant,
    Information,
    Involvement,
    Place,
    PlaceName,
    Source,
    Term,
)

__all__ = [
    "ActFilter",
    "ActRow",
    "InvalidInput",
    "NotFound",
    "ReadOnlyAccess",
    "acts_of_person",
    "event_grants",
    "find_places",
    "get_event",
    "list_acts",
    "list_events",
    "list_terms",
    "record_event",
    "share_event",
    "unshare_event",
    "validate_event",
    "visible_events",
]

TITLE_MAX = 300
DESCRIPTION_MAX = 20000
DETAILS_MAX = 5000
SOURCE_MAX = 300
GRADES_RELIABILITY = "ABCDEF"
GRADES_CREDIBILITY = "123456"

# English templates (extracted with gettext_noop, translated when shown).
MESSAGES: dict[str, str] = {
    "required": gettext_noop("is empty (required)"),
    "too_long": gettext_noop("longer than %(limit)s characters"),
    "reliability": gettext_noop("%(value)s is not a grade A–F"),
    "credibility": gettext_noop("%(value)s is not a grade 1–6"),
    "unknown_place": gettext_noop(
        "unknown place '%(value)s'; the nearest known places: %(nearest)s"
    ),
    "unknown_place_none": gettext_noop("unknown place '%(value)s' (no known place is close)"),
    "unknown_term": gettext_noop("unknown term '%(value)s'; the nearest known terms: %(nearest)s"),
    "unknown_term_none": gettext_noop("unknown term '%(value)s'; the known terms: %(nearest)s"),
    "retired": gettext_noop("'%(value)s' is retired and cannot be used for new records"),
    "coordinates": gettext_noop(
        "'%(value)s' is not a latitude,longitude pair (-90..90, -180..180)"
    ),
    "no_acts": gettext_noop("an event needs at least one act"),
    "not_a_list": gettext_noop("must be a list"),
    "not_an_object": gettext_noop("must be an object"),
    "no_person": gettext_noop("no person of code '%(value)s' that you can see"),
    "no_victim": gettext_noop("a victim needs a person code or a name"),
    "grade_without_source": gettext_noop("a grade needs a source: the source is empty"),
    "number": gettext_noop("'%(value)s' is not a number"),
    "positive": gettext_noop("must be between 0 and %(limit)s"),
    "near_needed": gettext_noop("a distance needs a place to measure from (near)"),
    "within_needed": gettext_noop("a place to measure from needs a distance in km (within_km)"),
    "flag": gettext_noop("'%(value)s' is not 1 or 0"),
}

_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


class Problem(ValueError):
    """One field's problem: `code` is a key of MESSAGES (or of dates.MESSAGES)."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.text(str))

    def text(self, translate=gettext) -> str:
        template = MESSAGES.get(self.code) or dates.MESSAGES.get(self.code) or self.code
        return translate(template) % self.params


# --- Vocabularies and places ------------------------------------------------------------------


def _label(obj: Term | Place) -> str:
    return obj.label_en if (get_language() or "ko").startswith("en") else obj.label_ko


class Lookups:
    """The terms and place names, read once per validation (an import of many rows asks the
    same questions again and again)."""

    def __init__(self, *, preload_places: bool = False) -> None:
        self._terms: dict[str, dict[str, Term]] = {}
        self._places: dict[str, Place | None] = {}
        # What was found for a text as written (an import asks the same few hundred
        # questions a hundred thousand times): answers only, a problem is raised afresh.
        self._found_terms: dict[tuple[str, str], Term] = {}
        self._found_places: dict[str, Place] = {}
        self._whens: dict[tuple[str, bool], When] = {}
        self._place_names: list[str] | None = None
        # An import reads the whole gazetteer once (two queries) instead of two queries per
        # distinct place name; a form asks for one or two names and does not.
        self._by_code: dict[str, Place] | None = None
        self._by_key: dict[str, Place] | None = None
        if preload_places:
            self._by_code = {p.code: p for p in Place.objects.filter(retired=False)}
            self._by_key = {}
            for name in (
                PlaceName.objects.filter(place__retired=False)
                .select_related("place")
                .order_by("place__code", "id")
            ):
                self._by_key.setdefault(name.key, name.place)

    def term(self, vocabulary: str, text: str) -> Term:
        """A term of `vocabulary` by its code or its Korean or English label."""
        found = self._found_terms.get((vocabulary, text))
        if found is None:
            found = self._found_terms[(vocabulary, text)] = self._term(vocabulary, text)
        return found

    def _term(self, vocabulary: str, text: str) -> Term:
        terms = self._terms.get(vocabulary)
        if terms is None:
            terms = {}
            for term in Term.objects.filter(vocabulary=vocabulary).order_by("order"):
                for name in (term.code, term.label_ko, term.label_en):
                    terms.setdefault(gazetteer.name_key(name), term)
            self._terms[vocabulary] = terms
        found = terms.get(gazetteer.name_key(text))
        if found is None:
            live = [t for t in dict.fromkeys(terms.values()) if not t.retired]
            names = [t.code for t in live] + [t.label_en for t in live] + [t.label_ko for t in live]
            nearest = gazetteer.nearest_names(text, names)
            if nearest:
                raise Problem("unknown_term", value=text, nearest=", ".join(nearest))
            raise Problem("unknown_term_none", value=text, nearest=", ".join(t.code for t in live))
        if found.retired:
            raise Problem("retired", value=text)
        return found

    def place(self, text: str) -> Place:
        found = self._found_places.get(text)
        if found is None:
            found = self._found_places[text] = self._place(text)
        return found

    def when(self, text: str, approximate: bool = False) -> When:
        """`read_when`, once per distinct text (the When is immutable, so shared)."""
        found = self._whens.get((text, approximate))
        if found is None:
            found = self._whens[(text, approximate)] = read_when(text, approximate)
        return found

    def _place(self, text: str) -> Place:
        key = gazetteer.name_key(text)
        if key not in self._places and self._by_key is not None and self._by_code is not None:
            by_code = self._by_code.get(text.strip()) if "\x00" not in text else None
            self._places[key] = by_code or self._by_key.get(key)
        if key not in self._places:
            name = (
                PlaceName.objects.filter(key=key, place__retired=False)
                .select_related("place")
                .order_by("place__code")
                .first()
            )
            by_code = (
                Place.objects.filter(code=text.strip(), retired=False).first()
                if "\x00" not in text
                else None
            )
            self._places[key] = by_code or (name.place if name else None)
        found = self._places[key]
        if found is None:
            if self._place_names is None:
                self._place_names = list(
                    PlaceName.objects.filter(place__retired=False).values_list("name", flat=True)
                )
            nearest = gazetteer.nearest_names(text, self._place_names)
            if nearest:
                raise Problem("unknown_place", value=text, nearest=", ".join(nearest))
            raise Problem("unknown_place_none", value=text)
        return found


@dataclass(frozen=True)
class Where:
    place: Place | None
    lat: float | None
    lon: float | None


def read_where(text: str, lookups: Lookups) -> Where:
    """A gazetteer name (any script), a place code, or `lat,lon`."""
    if match := _COORDINATES.match(text):
        lat, lon = float(match.group(1)), float(match.group(2))
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Problem("coordinates", value=text.strip())
        return Where(None, lat, lon)
    place = lookups.place(text)
    return Where(place, place.lat, place.lon)


@dataclass(frozen=True)
class When:
    range: dates.DateRange
    approximate: bool

    @cached_property
    def text(self) -> str:
        return str(self.range)[:32]

    @cached_property
    def precision(self) -> str:
        # The coarser of the two ends: a range 2017-07/2017-07-16 is known to the month.
        order = ["day", "month", "year"]
        ends = (self.range.start.precision, self.range.end.precision)
        return max((str(p) for p in ends), key=order.index)

    @cached_property
    def columns(self) -> tuple[dt.date, dt.date, str, bool, str]:
        """(date_start, date_end, date_precision, date_approx, date_text) as stored."""
        return (
            self.range.start.earliest(),
            self.range.end.latest(),
            self.precision,
            self.approximate,
            self.text,
        )


def read_when(text: str, approximate: bool = False) -> When:
    """`YYYY`, `YYYY-MM`, `YYYY-MM-DD` or `start/end`; `~` marks an end approximate."""
    try:
        rng = dates.parse_date_range(text, not_after=dt.date.today())
    except dates.DateError as exc:
        raise Problem(exc.code, **exc.params) from None
    approx = approximate or rng.start.approximate or rng.end.approximate
    return When(rng, approx)


def read_flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise Problem("flag", value=text)


def read_grade(value: object, grades: str, code: str) -> str:
    text = str(value if value is not None else "").strip().upper()
    if text and (len(text) != 1 or text not in grades):
        raise Problem(code, value=text)
    return text


# --- Validation --------------------------------------------------------------------------------


@dataclass
class VictimSpec:
    person: Person | None = None  # an existing person the form named
    record: records.PersonRecord | None = None  # a new one, normalised
    record_id: str = ""


@dataclass
class InvolvementSpec:
    perpetrator: Term
    degree: Term | None = None
    person: Person | None = None


@dataclass
class InformationSpec:
    source_kind: Term | None
    source_label: str
    reliability: str
    credibility: str


@dataclass
class ActSpec:
    act_type: Term
    victim: VictimSpec
    when: When | None
    where: Where | None
    details: str
    involvements: list[InvolvementSpec] = field(default_factory=list)
    information: list[InformationSpec] = field(default_factory=list)


@dataclass
class EventSpec:
    title: str
    description: str
    when: When
    where: Where | None
    acts: list[ActSpec]
    involvements: list[InvolvementSpec] = field(default_factory=list)
    information: list[InformationSpec] = field(default_factory=list)
    external_id: str = ""


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, key: str, problem: Problem) -> None:
        self.found.setdefault(key, problem.text())


def _text(data: Mapping, key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def _limited(data: Mapping, key: str, limit: int, errors: _Errors, path: str, *, required=False):
    value = _text(data, key)
    if required and not value:
        errors.add(path, Problem("required"))
    elif len(value) > limit:
        errors.add(path, Problem("too_long", limit=limit))
    return value


def _items(data: Mapping, key: str, errors: _Errors, path: str) -> list[Mapping]:
    value = data.get(key) or []
    if not isinstance(value, list | tuple):
        errors.add(path, Problem("not_a_list"))
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            errors.add(f"{path}[{i}]", Problem("not_an_object"))
        else:
            out.append(item)
    return out


def _person(user: User | None, code: str, errors: _Errors, path: str) -> Person | None:
    if user is None or not is_public_code(code.strip().upper()):
        errors.add(path, Problem("no_person", value=code[:32]))
        return None
    try:
        return people.get_person(user, code.strip().upper(), purpose="incident")
    except NotFound:
        errors.add(path, Problem("no_person", value=code[:32]))
        return None


def _victim(user: User | None, value: Any, errors: _Errors, path: str) -> VictimSpec:
    if isinstance(value, str):
        if not value.strip():
            errors.add(path, Problem("no_victim"))
            return VictimSpec()
        return VictimSpec(person=_person(user, value, errors, path))
    if not isinstance(value, Mapping):
        errors.add(path, Problem("no_victim" if value is None else "not_an_object"))
        return VictimSpec()
    if code := _text(value, "person"):
        return VictimSpec(person=_person(user, code, errors, f"{path}.person"))
    name = _text(value, "name") or _text(value, "name_hangul")
    if not name:
        errors.add(f"{path}.name", Problem("no_victim"))
        return VictimSpec()
    row = {
        "record_id": _text(value, "record_id") or "-",
        "source": "incidents",
        "name": name,
        "name_hangul": _text(value, "name_hangul"),
        "birth_date": _text(value, "birth_date"),
        "sex": _text(value, "sex"),
        "province": _text(value, "province"),
    }
    record, problems = records.parse_record(row, today=dt.date.today())
    for problem in problems:
        errors.found.setdefault(f"{path}.{problem.column}", problem.message(gettext))
    return VictimSpec(record=record, record_id=_text(value, "record_id")[:128])


def _required_term(
    item: Mapping, vocabulary: str, lookups: Lookups, errors: _Errors, here: str
) -> Term | None:
    """The term of `vocabulary` that `item[vocabulary]` names (its code or a label); a
    missing or unknown one is an error at `here.vocabulary`."""
    text = _text(item, vocabulary)
    if not text:
        errors.add(f"{here}.{vocabulary}", Problem("required"))
        return None
    try:
        return lookups.term(vocabulary, text)
    except Problem as p:
        errors.add(f"{here}.{vocabulary}", p)
        return None


def _involvements(
    user: User | None, items: list[Mapping], lookups: Lookups, errors: _Errors, path: str
) -> list[InvolvementSpec]:
    out = []
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        degree = None
        person = None
        perpetrator = _required_term(item, "perpetrator", lookups, errors, here)
        if text := _text(item, "degree") or _text(item, "involvement"):
            try:
                degree = lookups.term("involvement", text)
            except Problem as p:
                errors.add(f"{here}.involvement", p)
        if code := _text(item, "perpetrator_person"):
            person = _person(user, code, errors, f"{here}.perpetrator_person")
        if perpetrator is not None:
            out.append(InvolvementSpec(perpetrator, degree, person))
    return out


def _information(
    items: list[Mapping], lookups: Lookups, errors: _Errors, path: str
) -> list[InformationSpec]:
    out = []
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        source = _limited(item, "source", SOURCE_MAX, errors, f"{here}.source")
        grades = []
        for key, allowed, code in (
            ("source_reliability", GRADES_RELIABILITY, "reliability"),
            ("information_credibility", GRADES_CREDIBILITY, "credibility"),
        ):
            try:
                grades.append(read_grade(item.get(key), allowed, code))
            except Problem as p:
                errors.add(f"{here}.{key}", p)
                grades.append("")
        if not source:
            if any(_text(item, k) for k in ("source_reliability", "information_credibility")):
                errors.add(f"{here}.source", Problem("grade_without_source"))
            continue
        # A source written as a kind of the vocabulary (family_report, 가족 신고) is that
        # kind; any other text is a named source without a kind.
        kind = None
        try:
            kind = lookups.term("source_kind", source)
        except Problem:
            pass
        out.append(InformationSpec(kind, "" if kind else source, grades[0], grades[1]))
    return out


def validate_event(
    user: User | None, data: Mapping[str, Any], *, lookups: Lookups | None = None
) -> EventSpec:
    """Every field of an event and its acts read and checked; InvalidInput with every
    problem by field path, or the clean specification `record_event` writes."""
    lookups = lookups or Lookups()
    errors = _Errors()
    title = _limited(data, "title", TITLE_MAX, errors, "title", required=True)
    description = _limited(data, "description", DESCRIPTION_MAX, errors, "description")
    when = None
    try:
        approx = read_flag(data.get("date_approx"))
    except Problem as p:
        errors.add("date_approx", p)
        approx = False
    try:
        when = lookups.when(_text(data, "date"), approx)
    except Problem as p:
        errors.add("date", p)
    where = None
    if place := _text(data, "place"):
        try:
            where = read_where(place, lookups)
        except Problem as p:
            errors.add("place", p)
    acts: list[ActSpec] = []
    act_items = _items(data, "acts", errors, "acts")
    if not act_items and "acts" not in errors.found:
        errors.add("acts", Problem("no_acts"))
    for i, item in enumerate(act_items):
        here = f"acts[{i}]"
        act_type = _required_term(item, "act_type", lookups, errors, here)
        victim = _victim(user, item.get("victim"), errors, f"{here}.victim")
        act_when = act_where = None
        if date := _text(item, "date"):
            try:
                act_when = lookups.when(date, read_flag(item.get("date_approx")))
            except Problem as p:
                errors.add(f"{here}.date", p)
        if place := _text(item, "place"):
            try:
                act_where = read_where(place, lookups)
            except Problem as p:
                errors.add(f"{here}.place", p)
        details = _limited(item, "victim_details", DETAILS_MAX, errors, f"{here}.victim_details")
        involvements = _involvements(
            user,
            _items(item, "involvements", errors, f"{here}.involvements"),
            lookups,
            errors,
            f"{here}.involvements",
        )
        information = _information(
            _items(item, "information", errors, f"{here}.information"),
            lookups,
            errors,
            f"{here}.information",
        )
        if act_type is not None:
            acts.append(
                ActSpec(act_type, victim, act_when, act_where, details, involvements, information)
            )
    involvements = _involvements(
        user, _items(data, "involvements", errors, "involvements"), lookups, errors, "involvements"
    )
    information = _information(
        _items(data, "information", errors, "information"), lookups, errors, "information"
    )
    if errors.found:
        raise InvalidInput(errors.found)
    assert when is not None
    return EventSpec(
        title,
        description,
        when,
        where,
        acts,
        involvements,
        information,
        external_id=_text(data, "external_id")[:128],
    )


# --- Writes ------------------------------------------------------------------------------------


def require_recorder(user: User) -> None:
    """Who records incidents: the roles that edit people (their victims are people)."""
    if not accounts.can_edit_people(user):
        raise accounts.AccessDenied(
            gettext("Only case workers, supervisors and administrators record incidents.")
        )


def record_event(
    user: User,
    *,
    title: str,
    description: str = "",
    date: str,
    date_approx: bool | str = False,
    place: str = "",
    acts: Sequence[Mapping[str, Any]] = (),
    involvements: Sequence[Mapping[str, Any]] = (),
    information: Sequence[Mapping[str, Any]] = (),
) -> Event:
    """Record an event with its acts, all or nothing.

    An act: `{"act_type", "victim", "date"?, "date_approx"?, "place"?, "victim_details"?,
    "involvements"?: [...], "information"?: [...]}`; the victim is a person code (an existing
    person, reused) or `{"name", "name_hangul", "birth_date", "sex", "province"}` (a new
    person record). An involvement: `{"perpetrator", "involvement"?, "perpetrator_person"?}`;
    information: `{"source", "source_reliability"?, "information_credibility"?}`. Those at
    the top level concern the whole event.
    """
    require_recorder(user)
    spec = validate_event(
        user,
        {
            "title": title,
            "description": description,
            "date": date,
            "date_approx": date_approx,
            "place": place,
            "acts": list(acts),
            "involvements": list(involvements),
            "information": list(information),
        },
    )
    organisation = Organisation.objects.get(pk=user.org_id)
    with transaction.atomic():
        event = write_event(spec, organisation, actor=user)
    return event


def _date_fields(when: When) -> tuple[dt.date, dt.date, str, bool, str]:
    """(date_start, date_end, date_precision, date_approx, date_text) of an event or act:
    one reading for the form's path and the import's rows, so both store the same."""
    return when.columns


def _new_event(spec: EventSpec, organisation: Organisation, actor: User | None) -> Event:
    """The unsaved event of a validated spec (the form's path; the import builds the same
    fields as rows, `_write_chunk`)."""
    start, end, precision, approx, text = _date_fields(spec.when)
    event = Event(
        organisation=organisation,
        date_start=start,
        date_end=end,
        date_precision=precision,
        date_approx=approx,
        date_text=text,
        place=spec.where.place if spec.where else None,
        lat=spec.where.lat if spec.where else None,
        lon=spec.where.lon if spec.where else None,
        external_id=spec.external_id,
        created_by=actor,
    )
    event.title = spec.title
    event.description = spec.description or None
    return event


def _new_act(event: Event, spec: EventSpec, act_spec: ActSpec, victim: Person) -> Act:
    """The unsaved act of `act_spec` in `event`: its own date and place, else the event's."""
    when = act_spec.when or spec.when
    where = act_spec.where or spec.where
    start, end, precision, approx, text = _date_fields(when)
    act = Act(
        event=event,
        organisation=event.organisation,
        victim=victim,
        act_type=act_spec.act_type,
        date_start=start,
        date_end=end,
        date_precision=precision,
        date_approx=approx,
        date_text=text,
        place=where.place if where else None,
        lat=where.lat if where else None,
        lon=where.lon if where else None,
        victim_record_id=act_spec.victim.record_id,
    )
    act.victim_details = act_spec.details or None
    return act


def write_event(
    spec: EventSpec,
    organisation: Organisation,
    *,
    actor: User | None,
    victims: dict[str, Person] | None = None,
    sources: dict[tuple, Source] | None = None,
    victims_known: bool = False,
) -> Event:
    """Write a validated event (inside the caller's transaction). `victims` maps record ids
    to the people already made for them (an import's rows name one victim several times;
    `victims_known`: it holds every earlier victim of these ids, so none is looked up);
    `sources` does the same for sources."""
    victims = {} if victims is None else victims
    sources = {} if sources is None else sources
    event = _new_event(spec, organisation, actor)
    event.save()
    victim_codes = []
    for act_spec in spec.acts:
        victim = _victim_person(act_spec.victim, organisation, actor, victims, victims_known)
        victim_codes.append(victim.code)
        act = _new_act(event, spec, act_spec, victim)
        act.save()
        _write_links(event, act, act_spec.involvements, act_spec.information, sources)
    _write_links(event, None, spec.involvements, spec.information, sources)
    refresh_summaries([event.pk])
    audit.record(
        "incident.create",
        actor=actor,
        organisation_id=organisation.pk,
        object_type="incident",
        object_ref=event.code,
        detail={"acts": len(spec.acts), "victims": sorted(set(victim_codes))},
    )
    return event


#: Whether `write_events` writes each chunk on a thread while it builds the next
#: (`core.sql.BackgroundWriter`); off, in the caller's thread (benchmarks compare).
BACKGROUND_INDEX_WRITES = True

#: Acts written per chunk by `write_events`: bounds an import's memory (a chunk's rows and
#: its victims' tens of blind-index rows each), not its transaction.
WRITE_CHUNK_ACTS = 5000


def write_events(
    specs: Sequence[EventSpec],
    organisation: Organisation,
    indexer: people.IdentityIndexer | None = None,
) -> int:
    """Write validated events of an import in bulk (inside the caller's transaction): what
    `write_event` writes for each spec with `actor=None` — the same events, acts,
    involvements, information, sources, victims and audit events — in a few statements
    per table and chunk (`WRITE_CHUNK_ACTS`) instead of a dozen per act. Returns the number
    of events written.

    Victims: an act naming a person reuses it; a victim record id already recorded in this
    organisation (`earlier_victims`, one query for the whole import) or named earlier in
    the file reuses that person; every other victim becomes a person record through
    `people.services.create_people_bulk` (its `person.create` audit events a chained run,
    and all of them one linkage batch after the commit — where a missing person's
    reappearance is found). Each chunk's `incident.create` events follow as a chained run.

    `indexer` computes the victims' blind-index digests (one per import: names share most
    of their keys); an importer that made it told it the victims while validating
    (`expect_victims`), so that a child process could start on them early.
    """
    victims = earlier_victims(
        organisation, (a.victim.record_id for s in specs for a in s.acts if a.victim.person is None)
    )
    own = indexer is None  # (an importer's indexer was told while it validated)
    if indexer is None:
        indexer = people.IdentityIndexer()
        for spec in specs:
            expect_victims(indexer, spec, victims)
    try:
        with EventWriter(organisation, indexer, victims) as writer:
            for spec in specs:
                writer.add(spec)
    finally:
        if own:
            indexer.close()
    return len(specs)


def refresh_incident_statistics() -> None:
    """After a bulk write (an import): the planner's statistics on the incident tables and
    on the people tables the victims went into (`core.sql.refresh_statistics`), so that the
    act list's filters are planned on what is there now."""
    refresh_statistics([Event, Act, Involvement, Information, Source])
    people.refresh_people_statistics()


class EventWriter:
    """`write_events` as the specs come (an importer adds each event once validated, so
    the first chunks are written while the rest of the file is still being checked).

    `add` collects specs and writes a chunk (`_write_chunk`) once WRITE_CHUNK_ACTS acts are
    waiting; leaving the `with` block writes the rest and waits for the background writer,
    whose thread writes each chunk while the next is built (`BACKGROUND_INDEX_WRITES`) — a
    failure there is raised here. An exception inside the block writes nothing more (the
    caller's transaction rolls back). The caller holds the transaction and closes
    `indexer`; `victims` are the victims already recorded, by record id
    (`earlier_victims`), and gain those written.
    """

    def __init__(
        self,
        organisation: Organisation,
        indexer: people.IdentityIndexer,
        victims: dict[str, Any] | None = None,
    ) -> None:
        self.organisation = organisation
        self.indexer = indexer
        self.victims = {} if victims is None else victims
        self.sources: dict[tuple, Source] = {}
        self.writer = BackgroundWriter() if BACKGROUND_INDEX_WRITES else None
        self._pending: list[EventSpec] = []
        self._acts = 0

    def add(self, spec: EventSpec) -> None:
        if self._pending and self._acts + len(spec.acts) > WRITE_CHUNK_ACTS:
            self._write()
        self._pending.append(spec)
        self._acts += len(spec.acts)

    def _write(self) -> None:
        self.indexer.flush()  # the chunk's values not yet sent to the child
        chunk, self._pending, self._acts = self._pending, [], 0
        _write_chunk(chunk, self.organisation, self.victims, self.sources, self.indexer,
                     self.writer)  # fmt: skip

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None and self._pending:
                self._write()
        finally:
            if self.writer is not None:
                self.writer.wait()  # (what it raised fails the import)


def expect_victims(
    indexer: people.IdentityIndexer, spec: EventSpec, known: Container[str] = ()
) -> None:
    """Tell `indexer` the identities of the new victims of an event (those without a person
    and not `known` by record id), in the order `write_events` will ask for them."""
    for act in spec.acts:
        if act.victim.person is None and act.victim.record_id not in known:
            indexer.expect(people.identity_values(_victim_row(act.victim)))


@dataclass(slots=True)
class _NewEvent:
    pk: uuid.UUID
    code: str


#: The columns of the import's rows, in the order `_write_chunk` gives them
#: (`core.sql.Rows` checks that they are every column of the model).
EVENT_COLUMNS = (
    "id", "code", "organisation", "title", "description", "date_start", "date_end",
    "date_precision", "date_approx", "date_text", "place", "lat", "lon", "external_id",
    "created_by", "created_at", "updated_at",
)  # fmt: skip
ACT_COLUMNS = (
    "id", "event", "organisation", "victim", "act_type", "date_start", "date_end",
    "date_precision", "date_approx", "date_text", "place", "lat", "lon", "victim_details",
    "victim_record_id", "created_at", *summary.FIELDS,  # the summary's attnames
)  # fmt: skip
INVOLVEMENT_COLUMNS = ("event", "act", "perpetrator", "perpetrator_person", "degree")
INFORMATION_COLUMNS = ("event", "act", "source", "reliability", "credibility")


def _where_fields(where: Where | None) -> tuple[int | None, float | None, float | None]:
    return (where.place.pk if where.place else None, where.lat, where.lon) if where else (
        None, None, None,
    )  # fmt: skip


def _write_chunk(
    specs: Sequence[EventSpec],
    organisation: Organisation,
    victims: dict[str, Any],
    sources: dict[tuple, Source],
    indexer: people.IdentityIndexer | None = None,
    writer: BackgroundWriter | None = None,
) -> None:
    """One chunk of `write_events`: what `write_event` writes for each spec, built as rows
    (`core.sql.Rows`), not model instances. Built first without a query; then written —
    with `writer`, in its thread while the caller builds the next chunk (and this chunk
    waits for the previous one's writes before it needs the database itself)."""
    indexer = indexer or people.IdentityIndexer()
    org = organisation.pk
    # 1. The new victims, in the order the per-act path would create them.
    new_rows: list[dict] = []
    new_keys: list[tuple[int, int] | str] = []  # a record id, or (event, act) for none
    pending: set[str] = set()
    for e, spec in enumerate(specs):
        for a, act_spec in enumerate(spec.acts):
            wanted = act_spec.victim
            if wanted.person is not None:
                continue
            if wanted.record_id and (wanted.record_id in victims or wanted.record_id in pending):
                continue
            new_rows.append(_victim_row(wanted))
            if wanted.record_id:
                pending.add(wanted.record_id)
                new_keys.append(wanted.record_id)
            else:
                new_keys.append((e, a))
    # Built now, written below: with a background writer still storing the previous chunk,
    # nothing here touches the database until `wait` (codes drawn now are checked against
    # the stored ones at `write`, which may draw some again).
    wait = writer.wait if writer is not None else _nothing
    prepared = people.prepare_people_bulk(new_rows, organisation, indexer=indexer)
    created = prepared.people
    unnamed: dict[tuple[int, int], Any] = {}
    for key, person in zip(new_keys, created, strict=True):
        if isinstance(key, str):
            victims[key] = person
        else:
            unnamed[key] = person
    # 2. Events, acts and their links, as rows.
    now = timezone.now()
    new_code = concrete_field(Event, "code").get_default  # the model's own draw
    events: list[_NewEvent] = []
    acts = Rows(Act, ACT_COLUMNS)
    involvements = Rows(Involvement, INVOLVEMENT_COLUMNS)
    information = Rows(Information, INFORMATION_COLUMNS)
    act_keys: list[tuple[uuid.UUID, uuid.UUID]] = []  # (act, event) of each act row
    links_of: list[tuple[uuid.UUID, uuid.UUID | None, int]] = []
    infos_of: list[tuple[uuid.UUID, uuid.UUID | None, int | None, str]] = []

    def links(event_id: uuid.UUID, act_id: uuid.UUID | None, invs, infos) -> None:
        for inv in invs:
            involvements.add(
                event_id,
                act_id,
                inv.perpetrator.pk,
                inv.person.pk if inv.person is not None else None,
                inv.degree.pk if inv.degree is not None else None,
            )
            links_of.append((event_id, act_id, inv.perpetrator.pk))
        for info in infos:
            source = _source(org, info, sources, indexer.index, before_queries=wait)
            information.add(event_id, act_id, source.pk, info.reliability, info.credibility)
            infos_of.append((event_id, act_id, source.kind_id, info.reliability))

    act_rows: list[list] = []
    victims_of: list[list[Any]] = []  # each event's victims (their codes read once final)
    for e, spec in enumerate(specs):
        # Time-ordered ids (core.codes.uuid7): the indexes on event and act ids (their keys,
        # acts' events, involvements' and information's acts and events) grow at their end.
        event = _NewEvent(uuid7(), new_code())
        events.append(event)
        victims_here: list[Any] = []
        victims_of.append(victims_here)
        for a, act_spec in enumerate(spec.acts):
            victim_spec = act_spec.victim
            if victim_spec.person is not None:
                victim = victim_spec.person
            elif victim_spec.record_id:
                victim = victims[victim_spec.record_id]
            else:
                victim = unnamed[(e, a)]
            victims_here.append(victim)
            act_id = uuid7()
            act_rows.append(
                [
                    act_id, event.pk, org, victim.pk, act_spec.act_type.pk,
                    *_date_fields(act_spec.when or spec.when),
                    *_where_fields(act_spec.where or spec.where),
                    act_spec.details or None, act_spec.victim.record_id, now,
                ]
            )  # fmt: skip
            act_keys.append((act_id, event.pk))
            links(event.pk, act_id, act_spec.involvements, act_spec.information)
        links(event.pk, None, spec.involvements, spec.information)
    found = summary.summaries(act_keys, links_of, infos_of)
    for row, (act_id, _event) in zip(act_rows, act_keys, strict=True):
        fields = found[act_id]
        acts.add(*row, *(fields[name] for name in summary.FIELDS))
    event_rows = Rows(Event, EVENT_COLUMNS)
    for event, spec in zip(events, specs, strict=True):
        event_rows.add(
            event.pk, event.code, org, spec.title, spec.description or None,
            *_date_fields(spec.when), *_where_fields(spec.where), spec.external_id, None,
            now, now,
        )  # fmt: skip
    # Sealed (descriptions, victim details) and in database form here on PostgreSQL: the
    # writer's thread then only sends them (`Rows.prepare_ahead`, issue #14).
    for table in (event_rows, acts, involvements, information):
        table.prepare_ahead()

    def store() -> None:
        """The chunk's queries and writes, in order (in the writer's thread if there is
        one, which has this thread's connection and transaction)."""
        prepared.write()  # the victims' codes are final from here
        written = [
            (len(spec.acts), sorted({v.code for v in here}))
            for spec, here in zip(specs, victims_of, strict=True)
        ]
        give_unique_codes(Event, events)  # before the audit names them
        event_rows.set_column("code", (e.code for e in events))  # (any drawn again)
        audit.record_many(
            [
                audit.Entry(
                    "incident.create",
                    organisation_id=org,
                    object_type="incident",
                    object_ref=event.code,
                    detail={"acts": n_acts, "victims": named},
                )
                for event, (n_acts, named) in zip(events, written, strict=True)
            ]
        )
        for rows in (event_rows, acts, involvements, information):
            rows.insert()
        people.insert_index_rows(prepared.index_rows)

    if writer is None:
        store()
    else:  # while the next chunk is built here
        writer.start(store)


def _victim_row(spec: VictimSpec) -> dict:
    """The person-record row of a new victim (`people.importer.validate`'s shape)."""
    record = spec.record
    assert record is not None
    return {
        **{f: getattr(record, f) for f in records.COLUMNS},
        "source": "incidents",
        # The import's victim id, or a fresh one: a person record's id is unique per
        # source within the organisation.
        "record_id": spec.record_id or f"victim-{uuid.uuid4().hex[:12]}",
        "birth_date": record.birth_date.iso() if record.birth_date else "",
        "birth_year": record.birth_date.year if record.birth_date else None,
    }


# A look-up of acts by victim record id has no ORDER BY (`order_by()`): with the model's
# ordering (newest first) SQLite, without statistics, reads the organisation's acts in that
# order through the list's index until it meets the id — all of them when the id is new:
# two seconds a look-up of 500 ids beside half a million acts, 408 s of a 100,000-row
# import (issue #14) — instead of going straight to the (organisation, victim_record_id)
# index. Acts naming one record id share its victim, so which one is read does not matter.
def earlier_victims(organisation: Organisation, record_ids: Iterable[str]) -> dict[str, Person]:
    """{victim record id: the person} of the acts already recorded with these ids."""
    ids = sorted({r for r in record_ids if r})
    found: dict[str, Person] = {}
    for start in range(0, len(ids), 500):
        for act in (
            Act.objects.filter(
                organisation=organisation, victim_record_id__in=ids[start : start + 500]
            )
            .select_related("victim")
            .order_by()  # no ORDER BY: see above
        ):
            found.setdefault(act.victim_record_id, act.victim)
    return found


def _victim_person(
    spec: VictimSpec,
    organisation: Organisation,
    actor: User | None,
    cache: dict[str, Person],
    known: bool = False,
) -> Person:
    if spec.person is not None:
        return spec.person
    if spec.record_id and spec.record_id in cache:
        return cache[spec.record_id]
    if spec.record_id and not known:
        earlier = earlier_victims(organisation, [spec.record_id]).get(spec.record_id)
        if earlier is not None:
            cache[spec.record_id] = earlier
            return earlier
    record = spec.record
    assert record is not None
    if actor is not None:
        person = _create_victim(actor, organisation, record)
    else:
        from jikimi.people.importer import create_record_person

        person = create_record_person(_victim_row(spec), organisation)
    if spec.record_id:
        cache[spec.record_id] = person
    return person


def _create_victim(actor: User, organisation: Organisation, record: records.PersonRecord) -> Person:
    """A victim typed in a form: a person through people's services, as a case worker would
    create one (the identities start linkage after the commit)."""
    person = people.create_person(
        actor,
        name=record.name,
        organisation=organisation,
        birth_year=record.birth_date.year if record.birth_date else None,
        sex=record.sex,
        province=record.province,
    )
    if record.name_hangul and record.name_hangul != record.name:
        people.add_identity(
            actor, person, kind="name", value=record.name_hangul, name_kind="sk_legal"
        )
    if record.birth_date:
        people.add_identity(actor, person, kind="birth_date", value=record.birth_date.iso())
    return person


def _write_links(
    event: Event,
    act: Act | None,
    involvements: Iterable[InvolvementSpec],
    information: Iterable[InformationSpec],
    sources: dict[tuple, Source],
) -> None:
    Involvement.objects.bulk_create(
        Involvement(
            event=event,
            act=act,
            perpetrator=inv.perpetrator,
            degree=inv.degree,
            perpetrator_person=inv.person,
        )
        for inv in involvements
    )
    for info in information:
        source = _source(event.organisation_id, info, sources)
        Information.objects.create(
            event=event,
            act=act,
            source=source,
            reliability=info.reliability,
            credibility=info.credibility,
        )


def refresh_summaries(event_ids: Iterable[Any]) -> int:
    """Rewrite the link summaries (`summary.py`) of every act of these events from their
    involvements and information as stored: what every write of links calls after it
    (inside its transaction). Returns the number of acts rewritten."""
    event_ids = list(dict.fromkeys(event_ids))
    acts = 0
    for start in range(0, len(event_ids), 500):
        chunk = event_ids[start : start + 500]
        rows = list(Act.objects.filter(event_id__in=chunk).only("pk", "event_id", *summary.FIELDS))
        found = summary.summaries(
            ((a.pk, a.event_id) for a in rows),
            Involvement.objects.filter(event_id__in=chunk).values_list(
                "event_id", "act_id", "perpetrator_id"
            ),
            Information.objects.filter(event_id__in=chunk).values_list(
                "event_id", "act_id", "source__kind_id", "reliability"
            ),
        )
        changed = {
            a.pk: found[a.pk]
            for a in rows
            if any(getattr(a, name) != value for name, value in found[a.pk].items())
        }
        acts += summary.write(Act.objects, changed)
    return acts


def _nothing() -> None:
    pass


def _source(
    organisation_id: int,
    info: InformationSpec,
    cache: dict[tuple, Source],
    index: Callable[[str, str], str] = blind_index,
    before_queries: Callable[[], None] = _nothing,
) -> Source:
    """One Source row per kind or name within an organisation, found again by the blind
    index of its name (`index`: `blind_index`, or an import's `BlindIndexer`);
    `before_queries` is called before it looks one up (a bulk writer's `wait`)."""
    label_key = (
        index("incident_source", normalise_for_index(info.source_label))
        if info.source_label
        else ""
    )
    kind_id = info.source_kind.pk if info.source_kind else None
    key = (organisation_id, kind_id, label_key)
    if key not in cache:
        before_queries()
        source = Source.objects.filter(
            organisation_id=organisation_id, kind_id=kind_id, label_key=label_key
        ).first()
        if source is None:
            source = Source(organisation_id=organisation_id, kind_id=kind_id, label_key=label_key)
            source.label = info.source_label or None
            source.save()
        cache[key] = source
    return cache[key]


# --- Reads -------------------------------------------------------------------------------------


def shared_event_ids(organisation_id: int) -> list[uuid.UUID]:
    """Ids of the events other organisations shared with this one (grants not revoked)."""
    return granted_ids(EventGrant, organisation_id, "event_id")


def events_seen_by(organisation_id: int, *, event_field: str = "id") -> Q:
    """The one definition of which events an organisation sees: its own and those shared
    with it by a live grant (`core.sql.own_or_granted`, as people's `people_seen_by`). A
    filter for any table that carries `organisation_id` and the event (`event_field`: "id"
    on Event, "event_id" on Act and Evidence)."""
    return own_or_granted(organisation_id, event_field, shared_event_ids(organisation_id))


def visible_events(user: User) -> QuerySet[Event]:
    """Events of the user's organisation plus those shared with it by a live grant."""
    if not user.is_authenticated or user.organisation_id is None:
        return Event.objects.none()
    return Event.objects.filter(events_seen_by(user.organisation_id))


def _acts_of(user: User, *, shared: bool = True) -> QuerySet[Act]:
    """The acts of the events the user sees (`shared=False`: of its organisation's only)."""
    if not user.is_authenticated or user.organisation_id is None:
        return Act.objects.none()
    if not shared:
        return Act.objects.filter(organisation_id=user.organisation_id)
    return Act.objects.filter(events_seen_by(user.organisation_id, event_field="event_id"))


# The purposes of get_event that change the event or what hangs on it: refused through a grant.
WRITE_PURPOSES = frozenset({"edit", "attach", "withdraw", "share", "unshare"})


def get_event(user: User, code: str, *, purpose: str = "view") -> Event:
    """The event of this code the user can see, for `purpose`; NotFound for any other.

    A write purpose (WRITE_PURPOSES) on an event seen only through a grant is ReadOnlyAccess
    (403), after an audit row. A read through a grant is audited with `via_grant` in the
    reader's log and in the owner's (the owner sees who read what it shared)."""
    event = (
        visible_events(user)
        .filter(code=str(code).strip().upper()[:16])
        .select_related("place", "organisation")
        .first()
    )
    if event is None:
        audit.record(
            "incident.not_found", actor=user, object_type="incident", object_ref=str(code)[:64]
        )
        raise NotFound(code)
    shared = event.organisation_id != user.organisation_id
    if shared and purpose in WRITE_PURPOSES:
        require_event_owner(user, event, purpose=purpose)
    detail: dict[str, Any] = {"purpose": purpose} if purpose != "view" else {}
    if shared:
        detail["via_grant"] = True
    audit.record(
        "incident.read", actor=user, object_type="incident", object_ref=event.code, detail=detail
    )
    if shared:
        audit.record(
            "incident.read",
            actor=user,
            organisation_id=event.organisation_id,
            object_type="incident",
            object_ref=event.code,
            detail={**detail, "reader_organisation": user.organisation_id},
        )
    return event


def require_event_owner(user: User, event: Event, *, purpose: str = "edit") -> None:
    """The one check that a write to an event (or its evidence, or its sharing) is the
    owner's: a grant lets the grantee read, never write or pass the event on. Refused with
    ReadOnlyAccess (403) and an audit row."""
    if event.organisation_id == user.organisation_id:
        return
    audit.record(
        "incident.write_refused",
        actor=user,
        object_type="incident",
        object_ref=event.code,
        detail={"purpose": purpose, "via_grant": True},
    )
    raise ReadOnlyAccess(_("An event shared with your organisation can be read, not changed."))


def is_shared_with(user: User, event: Event) -> bool:
    """True when the user sees `event` through a grant, not as its owner."""
    return event.organisation_id != user.organisation_id


# --- Sharing an event ------------------------------------------------------------------------

GRANT_REASON_MAX = 500


def sharing_targets(user: User) -> QuerySet[Organisation]:
    """The organisations an event of the user's organisation can be shared with."""
    return Organisation.objects.exclude(pk=user.org_id).order_by("name")


def share_event(
    user: User, event: Event, to_organisation: Organisation | None, reason: str
) -> EventGrant:
    """Share one event (read-only) with another organisation: the owner's case workers,
    supervisors and administrators, with a reason. Its victims are not shared by it (see
    the module's docstring). Audited `event.share` in both organisations' logs."""
    accounts.require_role(user, "admin", "supervisor", "caseworker")
    require_event_owner(user, event, purpose="share")  # a grantee cannot pass it on
    errors: dict[str, Any] = {}
    reason = str(reason or "").replace("\x00", "").strip()
    if not reason:
        errors["reason"] = _("Say why the event is shared (required).")
    elif len(reason) > GRANT_REASON_MAX:
        errors["reason"] = _("Longer than %(limit)s characters.") % {"limit": GRANT_REASON_MAX}
    if to_organisation is None:
        errors["organisation"] = _("Choose the organisation to share the event with.")
    elif to_organisation.pk == event.organisation_id:
        errors["organisation"] = _("Share an event with another organisation.")
    elif event.grants.filter(to_organisation=to_organisation, revoked_at__isnull=True).exists():
        errors["organisation"] = _("The event is already shared with %(org)s.") % {
            "org": to_organisation.name
        }
    if errors:
        raise InvalidInput(errors)
    assert to_organisation is not None
    try:
        with transaction.atomic():
            grant = EventGrant.objects.create(
                event=event,
                from_organisation_id=event.organisation_id,
                to_organisation=to_organisation,
                granted_by=user,
                reason=reason,
            )
            _audit_grant("event.share", user, event, to_organisation.pk, grant.pk)
    except IntegrityError:  # shared by someone else meanwhile (one live grant per pair)
        raise InvalidInput(
            {
                "organisation": _("The event is already shared with %(org)s.")
                % {"org": to_organisation.name}
            }
        ) from None
    return grant


def unshare_event(user: User, event: Event, grant_id: Any) -> EventGrant:
    """End a live grant of the user's organisation's event (who and when are kept).
    NotFound for a grant that is not live on this event; ReadOnlyAccess for a grantee.
    Audited `event.unshare` in both organisations' logs."""
    accounts.require_role(user, "admin", "supervisor", "caseworker")
    require_event_owner(user, event, purpose="unshare")
    try:
        pk = int(grant_id)
    except (TypeError, ValueError):
        raise NotFound(str(grant_id)[:32]) from None
    with transaction.atomic():
        # Conditional: two revocations at once end it once.
        ended = EventGrant.objects.filter(pk=pk, event=event, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user
        )
        if not ended:
            raise NotFound(str(pk))
        grant = EventGrant.objects.select_related("to_organisation").get(pk=pk)
        _audit_grant("event.unshare", user, event, grant.to_organisation_id, grant.pk)
    return grant


def _audit_grant(action: str, user: User, event: Event, to_organisation: int, grant: int) -> None:
    """A grant's start or end, in the owner's log and the grantee's."""
    for org in (event.organisation_id, to_organisation):
        audit.record(
            action,
            actor=user,
            organisation_id=org,
            object_type="incident",
            object_ref=event.code,
            detail={"to_organisation": to_organisation, "grant": grant},
        )


@dataclass
class EventGrantRow:
    """One grant of an event as its pages and the API list it."""

    id: int
    event: str  # the event's code
    organisation: str  # the grantee's slug
    organisation_name: str
    granted_by: str | None  # the owner's member; None for the grantee
    reason: str  # the owner's only: empty for the grantee
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def organisation_event_grants(
    user: User, *, limit: int = 500
) -> tuple[list[EventGrantRow], list[EventGrantRow]]:
    """The event grants of the administrator's organisation, as people's
    `organisation_grants`: (ours to others, others' to us), newest first, revoked ones
    included; another organisation's grant without its member's name or reason. Only the
    organisation's administrators see it; audited `sharing.list`."""
    accounts.require_admin(user)
    org = user.organisation_id
    base = EventGrant.objects.select_related(
        "event", "to_organisation", "from_organisation", "granted_by", "revoked_by"
    ).order_by("-created_at", "-id")

    def row(g: EventGrant, ours: bool) -> EventGrantRow:
        other = g.to_organisation if ours else g.from_organisation
        return EventGrantRow(
            id=g.pk,
            event=g.event.code,
            organisation=other.slug,
            organisation_name=other.name,
            granted_by=g.granted_by.get_username() if ours else None,
            reason=g.reason if ours else "",
            created_at=g.created_at,
            revoked_at=g.revoked_at,
            revoked_by=g.revoked_by.get_username() if ours and g.revoked_by else None,
        )

    ours = [row(g, True) for g in base.filter(from_organisation_id=org)[:limit]]
    theirs = [row(g, False) for g in base.filter(to_organisation_id=org)[:limit]]
    audit.record(
        "sharing.list",
        actor=user,
        object_type="organisation",
        object_ref=str(org),
        detail={"events_ours": len(ours), "events_theirs": len(theirs)},
    )
    return ours, theirs


def event_grants(user: User, event: Event, *, live_only: bool = False) -> list[EventGrantRow]:
    """The grants of an event got from `get_event` (which audited the read), newest first:
    for the owner every grant (revoked ones too, unless `live_only`); for a grantee only the
    live grant to its own organisation, without the owner's names and reason."""
    grants = event.grants.select_related("to_organisation", "granted_by", "revoked_by")
    owner = not is_shared_with(user, event)
    if not owner:
        grants = grants.filter(to_organisation_id=user.organisation_id)
    if live_only or not owner:
        grants = grants.filter(revoked_at__isnull=True)
    return [
        EventGrantRow(
            id=g.pk,
            event=event.code,
            organisation=g.to_organisation.slug,
            organisation_name=g.to_organisation.name,
            granted_by=g.granted_by.get_username() if owner else None,
            reason=g.reason if owner else "",
            created_at=g.created_at,
            revoked_at=g.revoked_at,
            revoked_by=g.revoked_by.get_username() if owner and g.revoked_by else None,
        )
        for g in grants.order_by("-created_at", "-id")
    ]


class _Sight:
    """Which people of the rows of shared events this user may see named (their own and
    those a people SharingGrant shares), read once per page of rows."""

    def __init__(self, user: User) -> None:
        self.org = user.organisation_id
        self._shared: set[Any] | None = None

    def own(self, obj: Act | Event) -> bool:
        return obj.organisation_id == self.org

    def sees(self, person: Person | None) -> bool:
        return person is None or self.sees_id(person.pk, person.organisation_id)

    def sees_id(self, person_id: Any, organisation_id: int | None) -> bool:
        """`sees` for a person given by id and organisation (rows read as tuples)."""
        if person_id is None or organisation_id == self.org:
            return True
        if self._shared is None:
            self._shared = set(people.shared_person_ids(self.org)) if self.org else set()
        return person_id in self._shared


@dataclass
class TermRef:
    code: str
    label: str


def _term(term: Term | None) -> TermRef | None:
    return TermRef(term.code, _label(term)) if term else None


@dataclass
class PlaceRef:
    code: str
    label: str
    lat: float
    lon: float


def _place(place: Place | None) -> PlaceRef | None:
    return PlaceRef(place.code, _label(place), place.lat, place.lon) if place else None


@dataclass
class InvolvementRow:
    perpetrator: TermRef
    degree: TermRef | None
    perpetrator_person: str | None  # a person code


@dataclass
class InformationRow:
    source_kind: TermRef | None
    source: str | None  # a named source's name (roles that see identities only)
    reliability: str
    credibility: str


@dataclass
class ActRow:
    id: str
    event: str  # the event's code
    act_type: TermRef
    date: str
    date_start: dt.date
    date_end: dt.date
    date_precision: str
    date_approx: bool
    place: PlaceRef | None
    lat: float | None
    lon: float | None
    victim: str | None  # the person's code; None when hidden (below)
    victim_name: str | None  # None for roles that see pseudonymous data only
    victim_details: str | None
    involvements: list[InvolvementRow]
    information: list[InformationRow]
    # An act of an event shared with the user's organisation whose victim is not visible to
    # it: no code, name or details ("a victim not shared with you").
    victim_hidden: bool = False
    shared: bool = False  # the act is another organisation's, seen through a grant


@dataclass
class EventDetail:
    code: str
    title: str
    description: str
    date: str
    date_start: dt.date
    date_end: dt.date
    date_precision: str
    date_approx: bool
    place: PlaceRef | None
    lat: float | None
    lon: float | None
    created_at: dt.datetime
    acts: list[ActRow]
    involvements: list[InvolvementRow]
    information: list[InformationRow]
    # The owner organisation's name when the user sees the event through a grant.
    shared_by: str | None = None


def _involvement_rows(
    items: Iterable[Involvement], sight: _Sight, *, own: bool = True
) -> list[InvolvementRow]:
    """A perpetrator person of a shared event is named (by code) only when visible anyway."""
    return [
        InvolvementRow(
            _term(i.perpetrator),  # type: ignore[arg-type]
            _term(i.degree),
            i.perpetrator_person.code
            if i.perpetrator_person and (own or sight.sees(i.perpetrator_person))
            else None,
        )
        for i in items
    ]


def _information_rows(
    user: User, items: Iterable[Information], *, own: bool = True
) -> list[InformationRow]:
    # A named source of a shared event stays the owner's: it may be a witness or an
    # informant it holds in confidence. The grantee sees the kind and the grades.
    show = user.sees_identities and own
    return [
        InformationRow(
            _term(i.source.kind),
            (i.source.label if show else None),
            i.reliability,
            i.credibility,
        )
        for i in items
    ]


#: What a row of the act list reads of the act (and its event's code, its victim's code).
_ROW_FIELDS = (
    "pk",
    "event__code",
    "act_type_id",
    "date_text",
    "date_start",
    "date_end",
    "date_precision",
    "date_approx",
    "place_id",
    "lat",
    "lon",
    "victim_id",
    "victim__code",
    "organisation_id",
    "victim__organisation_id",
)


def _in_language(ko: str, en: str) -> str:
    return en if (get_language() or "ko").startswith("en") else ko


def _act_rows(user: User, acts: QuerySet[Act]) -> list[ActRow]:
    """Rows of `acts` (a query of acts, ordered and perhaps sliced) with their links, in a
    fixed number of queries, read as tuples: a page of 50 acts built a model instance per
    act, type, place, victim, link, term and source (about 500), which was most of a
    request's time. Only what a row shows is decrypted: the victim's name and details and a
    named source's name, for roles that see identities."""
    found = list(acts.values_list(*_ROW_FIELDS))
    ids = [a[0] for a in found]
    show = user.sees_identities
    sight = _Sight(user)
    # An act of an event shared with the user's organisation: its victim (and a perpetrator
    # person) is named only when visible anyway, a named source never (`_information_rows`).
    own = {a[0] for a in found if a[13] == sight.org}
    hidden = {a[0] for a in found if a[0] not in own and not sight.sees_id(a[11], a[14])}
    invs: dict[Any, list[tuple]] = {}
    for act_id, perpetrator, degree, code, person, person_org in (
        Involvement.objects.filter(act_id__in=ids)
        .order_by("pk")
        .values_list(
            "act_id",
            "perpetrator_id",
            "degree_id",
            "perpetrator_person__code",
            "perpetrator_person_id",
            "perpetrator_person__organisation_id",
        )
    ):
        visible = person is None or act_id in own or sight.sees_id(person, person_org)
        invs.setdefault(act_id, []).append((perpetrator, degree, code if visible else None))
    infos: dict[Any, list[tuple]] = {}
    for act_id, *info in (
        Information.objects.filter(act_id__in=ids)
        .order_by("pk")
        .values_list("act_id", "source__kind_id", "source_id", "reliability", "credibility")
    ):
        infos.setdefault(act_id, []).append(tuple(info))
    term_ids = {a[2] for a in found}
    term_ids |= {t for rows in invs.values() for (p, d, _c) in rows for t in (p, d) if t}
    term_ids |= {i[0] for rows in infos.values() for i in rows if i[0]}
    terms = {
        pk: TermRef(code, _in_language(ko, en))
        for pk, code, ko, en in Term.objects.filter(pk__in=term_ids).values_list(
            "pk", "code", "label_ko", "label_en"
        )
    }
    places = {
        pk: PlaceRef(code, _in_language(ko, en), lat, lon)
        for pk, code, ko, en, lat, lon in Place.objects.filter(
            pk__in={a[8] for a in found if a[8]}
        ).values_list("pk", "code", "label_ko", "label_en", "lat", "lon")
    }
    names: dict[Any, str] = {}
    details: dict[Any, str | None] = {}
    labels: dict[Any, str | None] = {}
    if show and found:
        victims = Person.objects.filter(pk__in={a[11] for a in found if a[0] not in hidden}).only(
            "id", "organisation_id", "display_name"
        )
        names = people.display_names(user, list(victims))
        details = {
            a.pk: a.victim_details
            for a in Act.objects.filter(pk__in=ids, victim_details__isnull=False).only(
                "id", "victim_details"
            )
        }
        named = {i[1] for rows in infos.values() for i in rows}
        labels = {
            s.pk: s.label
            for s in Source.objects.filter(pk__in=named, label__isnull=False).only("id", "label")
        }
    return [
        ActRow(
            id=str(pk),
            event=event_code,
            act_type=terms[act_type],
            date=date_text,
            date_start=date_start,
            date_end=date_end,
            date_precision=date_precision,
            date_approx=date_approx,
            place=places.get(place) if place else None,
            lat=lat,
            lon=lon,
            victim=None if pk in hidden else victim_code,
            victim_name=None if pk in hidden else names.get(victim),
            victim_details=details.get(pk) if show and pk not in hidden else None,
            involvements=[
                InvolvementRow(terms[perpetrator], terms[degree] if degree else None, person_code)
                for perpetrator, degree, person_code in invs.get(pk, [])
            ],
            information=[
                InformationRow(
                    terms[kind] if kind else None,
                    labels.get(source) if show and pk in own else None,
                    reliability,
                    credibility,
                )
                for kind, source, reliability, credibility in infos.get(pk, [])
            ],
            victim_hidden=pk in hidden,
            shared=pk not in own,
        )
        for (
            pk,
            event_code,
            act_type,
            date_text,
            date_start,
            date_end,
            date_precision,
            date_approx,
            place,
            lat,
            lon,
            victim,
            victim_code,
            _organisation,
            _victim_organisation,
        ) in found
    ]


def _act_query(qs: QuerySet[Act]) -> QuerySet[Act]:
    """The acts of `qs` in the list's order: newest first, then by id (the indexes' order)."""
    return qs.order_by("-date_start", "id")


def event_detail(user: User, event: Event) -> EventDetail:
    """An event got from `get_event`, with its acts and links, for a page or the API."""
    shared = is_shared_with(user, event)
    if shared and event.pk not in shared_event_ids(user.org_id):
        raise NotFound(event.code)
    show = user.sees_identities
    sight = _Sight(user)
    return EventDetail(
        code=event.code,
        # Titles and descriptions may name people: roles with pseudonymous data only get
        # the event's structure (acts, dates, places, grades), not its text.
        title=event.title if show else "",
        description=(event.description or "") if show else "",
        date=event.date_text,
        date_start=event.date_start,
        date_end=event.date_end,
        date_precision=event.date_precision,
        date_approx=event.date_approx,
        place=_place(event.place),
        lat=event.lat,
        lon=event.lon,
        created_at=event.created_at,
        acts=_act_rows(user, _act_query(Act.objects.filter(event=event))),
        involvements=_involvement_rows(
            Involvement.objects.filter(event=event, act__isnull=True).select_related(
                "perpetrator", "degree", "perpetrator_person"
            ),
            sight,
            own=not shared,
        ),
        information=_information_rows(
            user,
            Information.objects.filter(event=event, act__isnull=True).select_related(
                "source__kind"
            ),
            own=not shared,
        ),
        shared_by=event.organisation.name if shared else None,
    )


@dataclass
class EventRow:
    code: str
    title: str
    date: str
    date_start: dt.date
    place: PlaceRef | None
    acts: int


def list_events(user: User, *, offset: int = 0, limit: int = 50) -> tuple[list[EventRow], int]:
    """The events the user sees (its organisation's and those shared with it), newest
    first, paginated."""
    from django.db.models import Count

    qs = visible_events(user).select_related("place").order_by("-date_start", "id")
    total = qs.count()
    events = list(qs.annotate(n_acts=Count("acts"))[offset : offset + limit])
    show = user.sees_identities
    shared = [e.code for e in events if e.organisation_id != user.organisation_id]
    audit.record(
        "incident.list",
        actor=user,
        object_type="incident",
        detail={"codes": [e.code for e in events], **({"via_grant": shared} if shared else {})},
    )
    return [
        EventRow(
            e.code,
            e.title if show else "",
            e.date_text,
            e.date_start,
            _place(e.place),
            e.n_acts,
        )
        for e in events
    ], total


# --- The act list and its filters ------------------------------------------------------------


@dataclass
class ActFilter:
    """The filters of the act list, as typed (query parameters): every one optional."""

    act_type: str = ""
    date_from: str = ""
    date_to: str = ""
    place: str = ""  # a place (any name or code): acts there or in a place within it
    near: str = ""  # a place or `lat,lon` …
    within_km: str = ""  # … and the distance from it
    perpetrator: str = ""
    source_kind: str = ""
    reliability: str = ""  # this grade or better (B: A or B)
    victim: str = ""  # a person code
    event: str = ""  # an event code

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ActFilter:
        names = cls.__dataclass_fields__
        return cls(
            **{
                k: str(v).replace("\x00", "").strip()
                for k, v in data.items()
                if k in names and v is not None
            }
        )


MAX_KM = 20000.0


@dataclass
class _Within:
    lat: float
    lon: float
    km: float


def _descendants(place: Place) -> list[int]:
    """The place and every place within it (the gazetteer is small: one query)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Place.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = [], [place.pk]
    while todo:
        pk = todo.pop()
        found.append(pk)
        todo.extend(children.get(pk, []))
    return found


def _perpetrator_filter(term: Term) -> Q:
    """Acts with `term` among their perpetrators (their own or their event's), from the act
    row (`summary.py`): its one perpetrator, or, for the few acts of several, the list."""
    return Q(perpetrator=term) | Q(links_many=True, perpetrators__contains=f",{term.pk},")


def _source_filter(kind: Term | None, grades: str) -> Q:
    """Acts with information of source `kind` (any, if None) graded one of `grades` (any
    grade, if empty) — one piece of information meeting both — from the act row."""
    if kind is None:
        return Q(reliability__in=list(grades))
    single = Q(source_kind=kind)
    if grades:
        single &= Q(reliability__in=list(grades))
        many = Q()
        for g in grades:
            many |= Q(sources__contains=f",{kind.pk}:{g},")
    else:
        many = Q(sources__contains=f",{kind.pk}:")
    return single | Q(links_many=True) & many


def _filtered(
    user: User, flt: ActFilter, *, shared: bool = True
) -> tuple[QuerySet[Act], _Within | None]:
    """The acts matching `flt` of the events the user sees (`shared=False`: of its own
    organisation's only, as an export)."""
    lookups = Lookups()
    errors = _Errors()
    qs = _acts_of(user, shared=shared)
    if flt.act_type:
        try:
            qs = qs.filter(act_type=lookups.term("act_type", flt.act_type))
        except Problem as p:
            errors.add("act_type", p)
    for key, bound in (("date_from", "from"), ("date_to", "to")):
        text = getattr(flt, key)
        if not text:
            continue
        try:
            day = dates.parse_partial_date(text, approximate=True)
        except dates.DateError as exc:
            errors.add(key, Problem(exc.code, **exc.params))
            continue
        # Acts whose dates overlap the period (an act of 2017-07 is in "from 2017-07-15").
        if bound == "from":
            qs = qs.filter(date_end__gte=day.earliest())
        else:
            qs = qs.filter(date_start__lte=day.latest())
    if flt.place:
        try:
            qs = qs.filter(place_id__in=_descendants(lookups.place(flt.place)))
        except Problem as p:
            errors.add("place", p)
    within = None
    if flt.near or flt.within_km:
        if not flt.near:
            errors.add("near", Problem("near_needed"))
        elif not flt.within_km:
            errors.add("within_km", Problem("within_needed"))
        else:
            km = None
            try:
                km = float(flt.within_km)
            except ValueError:
                errors.add("within_km", Problem("number", value=flt.within_km[:32]))
            if km is not None and not (0 <= km <= MAX_KM) or km is not None and math.isnan(km):
                errors.add("within_km", Problem("positive", limit=int(MAX_KM)))
                km = None
            try:
                where = read_where(flt.near, lookups)
            except Problem as p:
                errors.add("near", p)
                where = None
            if km is not None and where is not None:
                assert where.lat is not None and where.lon is not None
                # Resolved to places and points in `_within`, after the other filters.
                within = _Within(where.lat, where.lon, km)
    if flt.perpetrator:
        try:
            qs = qs.filter(_perpetrator_filter(lookups.term("perpetrator", flt.perpetrator)))
        except Problem as p:
            errors.add("perpetrator", p)
    kind, grades, source_filtered = None, "", False
    if flt.source_kind:
        try:
            kind = lookups.term("source_kind", flt.source_kind)
            source_filtered = True
        except Problem as p:
            errors.add("source_kind", p)
    if flt.reliability:
        try:
            grade = read_grade(flt.reliability, GRADES_RELIABILITY, "reliability")
            grades = GRADES_RELIABILITY[: GRADES_RELIABILITY.index(grade) + 1]
            source_filtered = True
        except Problem as p:
            errors.add("reliability", p)
    if source_filtered:
        qs = qs.filter(_source_filter(kind, grades))
    if flt.victim:
        qs = qs.filter(victim__code=flt.victim.upper()[:16])
        if shared and user.organisation_id is not None and shared_event_ids(user.org_id):
            # A victim of a shared event is found by code only when visible anyway: the
            # filter must not tell whether an unshared person was a victim.
            qs = qs.filter(
                Q(organisation_id=user.organisation_id)
                | Q(victim__in=people.visible_people(user).values("pk"))
            )
    if flt.event:
        qs = qs.filter(event__code=flt.event.upper()[:16])
    if errors.found:
        raise InvalidInput(errors.found)
    return qs, within


COUNT_CAP = 10_000
#: Beyond this many distinct typed-in points near the centre, they are checked act by act.
MAX_POINTS = 500
#: The Earth's mean radius, as `gazetteer.distance_km` measures.
EARTH_KM = 6371.0088


def _box(lat: float, lon: float, km: float) -> tuple[float, float, list[tuple[float, float]]]:
    """A latitude range and one or two longitude ranges holding every point within `km` of
    (lat, lon) on the great circle (a hair wider, for rounding): the circle's exact extent,
    which is wider in longitude away from the centre's parallel (towards the pole) than
    `km` over the parallel's length, crossing the antimeridian into two ranges, and every
    longitude when the circle holds a pole."""
    d = km / EARTH_KM  # the angular radius
    dlat = math.degrees(d) + 1e-9
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_max >= 90 or lat_min <= -90:
        return max(lat_min, -90.0), min(lat_max, 90.0), [(-180.0, 180.0)]
    dlon = math.degrees(math.asin(min(1.0, math.sin(d) / math.cos(math.radians(lat))))) + 1e-9
    lo, hi = lon - dlon, lon + dlon
    if lo < -180:
        return lat_min, lat_max, [(lo + 360, 180.0), (-180.0, hi)]
    if hi > 180:
        return lat_min, lat_max, [(lo, 180.0), (-180.0, hi - 360)]
    return lat_min, lat_max, [(lo, hi)]


def _near(within: _Within, lat: float | None, lon: float | None) -> bool:
    """The point is within the distance on the great circle."""
    if lat is None or lon is None:
        return False
    return gazetteer.distance_km(within.lat, within.lon, lat, lon) <= within.km


def _close_places(within: _Within) -> list[int]:
    """The gazetteer's places within the distance (a few hundred rows, read once a request:
    places are few, acts many)."""
    return [
        pk
        for pk, lat, lon in Place.objects.values_list("pk", "lat", "lon").order_by("pk")
        if _near(within, lat, lon)
    ]


def _within(qs: QuerySet[Act], within: _Within) -> QuerySet[Act]:
    """The acts of `qs` within `within.km` of its centre on the great circle. An act at a
    gazetteer place carries that place's coordinates (a place's coordinates never change),
    so the distance is computed once per place of the gazetteer and the acts are those of
    the close places: `place_id IN (…)`, on the indexes that also give the list's order, no
    distance per act. Only acts without a place (coordinates typed in) are read for their
    points — inside the circle's bounding box, on a partial index of those acts alone —
    once per distinct point, or act by act beyond MAX_POINTS of them."""
    close = Q(place_id__in=_close_places(within))
    lat_min, lat_max, lons = _box(within.lat, within.lon, within.km)
    in_lon = Q()
    for lo, hi in lons:
        in_lon |= Q(lon__gte=lo, lon__lte=hi)
    typed = qs.filter(in_lon, place__isnull=True, lat__gte=lat_min, lat__lte=lat_max).order_by()
    points = list(typed.values_list("lat", "lon").distinct()[: MAX_POINTS + 1])
    if len(points) > MAX_POINTS:
        close_ids = [
            pk for pk, lat, lon in typed.values_list("pk", "lat", "lon") if _near(within, lat, lon)
        ]
        return qs.filter(close | Q(pk__in=close_ids))
    for lat, lon in points:
        if _near(within, lat, lon):
            close |= Q(place__isnull=True, lat=lat, lon=lon)
    return qs.filter(close)


def list_acts(
    user: User,
    filters: ActFilter | Mapping[str, Any] | None = None,
    *,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[ActRow], int]:
    """Acts of the user's organisation matching every filter given, newest first: (the page
    of rows, how many match, counted up to COUNT_CAP + 1 — more than COUNT_CAP means "more
    than COUNT_CAP", not a number). Bad filter values are InvalidInput naming the filter."""
    flt = filters if isinstance(filters, ActFilter) else ActFilter.from_mapping(filters or {})
    qs, within = _filtered(user, flt)
    if within is not None:
        qs = _within(qs, within)
    # Every filter is a condition on the act row (the links are summarised on it,
    # `summary.py`), so the page is one query read in the list's order from an index that
    # stops after the page, and the count is the database's count of at most COUNT_CAP + 1
    # matches (no ids sent to Python): past the cap a count is a scan of every matching act
    # for a number no page needs exactly.
    total = qs.order_by()[: COUNT_CAP + 1].count()
    # The page's ids first (from the index alone, where it holds the filter's columns), then
    # those acts' rows: the joins for a row are made for the page's acts only, not for every
    # act an OFFSET skips.
    page = []
    if offset < total or total > COUNT_CAP:
        page = list(_act_query(qs).values_list("pk", flat=True)[offset : offset + limit])
    rows = _act_rows(user, _act_query(Act.objects.filter(pk__in=page)))
    shared = sorted({r.event for r in rows if r.shared})
    audit.record(
        "incident.acts.list",
        actor=user,
        object_type="incident",
        detail={
            "filters": sorted(k for k, v in vars(flt).items() if v),
            "results": total,
            # Hidden victims are not named, not even in the reader's own log.
            "victims": sorted({r.victim for r in rows if r.victim}),
            **({"via_grant": shared} if shared else {}),
        },
    )
    return rows, total


def acts_of_person(user: User, person: Person) -> list[ActRow]:
    """Every act of the events the user sees whose victim is this person (a person got from
    `people.services.get_person`, which checked and audited the read, so the victim of an
    act of a shared event is visible)."""
    rows = _act_rows(user, _act_query(_acts_of(user).filter(victim=person)))
    shared = sorted({r.event for r in rows if r.shared})
    audit.record(
        "incident.acts.of_person",
        actor=user,
        object_type="person",
        object_ref=person.code,
        detail={"acts": len(rows), **({"via_grant": shared} if shared else {})},
    )
    return rows


# --- Vocabularies and the gazetteer for forms and the API --------------------------------------


def list_terms(vocabulary: str = "", *, include_retired: bool = False) -> list[Term]:
    qs = Term.objects.all()
    if vocabulary:
        qs = qs.filter(vocabulary=vocabulary)
    if not include_retired:
        qs = qs.filter(retired=False)
    return list(qs.order_by("vocabulary", "order", "code"))


def find_places(query: str = "", *, limit: int = 50) -> list[Place]:
    """Places whose name (any script: 투먼, Tumen, 图们) or code starts with `query`; all
    places without one."""
    qs = Place.objects.filter(retired=False)
    key = gazetteer.name_key(query) if query else ""
    if key:
        qs = qs.filter(
            Q(pk__in=PlaceName.objects.filter(key__startswith=key).values("place_id"))
            | Q(code__istartswith=query.strip())
        )
    return list(qs.select_related("parent").order_by("country", "code")[:limit])


def place_names(places: Sequence[Place]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for pk, name in PlaceName.objects.filter(place__in=places).values_list("place_id", "name"):
        names.setdefault(pk, []).append(name)
    return names


# --- for the pages (incpages) ---


def event_titles(user: User, codes: Iterable[str]) -> dict[str, str]:
    """{event code: title} of the events the user sees among `codes`, for a page of acts;
    none for roles that see pseudonymous data only (a title may name people)."""
    if not user.sees_identities:
        return {}
    events = visible_events(user).filter(code__in=set(codes))
    return {e.code: e.title for e in events.only("id", "code", "title")}


def _in_use(field_model_pairs: Iterable[tuple[Any, str]]) -> set[int]:
    used: set[int] = set()
    for model, field_name in field_model_pairs:
        used.update(
            model.objects.filter(**{f"{field_name}__isnull": False})
            .values_list(field_name, flat=True)
            .distinct()
        )
    return used


def terms_in_use() -> set[int]:
    """The ids of terms some record carries (these cannot be deleted, only retired)."""
    return _in_use(
        [
            (Act, "act_type"),
            (Involvement, "perpetrator"),
            (Involvement, "degree"),
            (Source, "kind"),
        ]
    )


def places_in_use() -> set[int]:
    """The ids of places some record (or another place, as its parent) refers to."""
    return _in_use([(Event, "place"), (Act, "place"), (Place, "parent")])


# The grades are the fixed NATO (Admiralty) scale, stored as letters and digits: not edited.
EDITABLE_VOCABULARIES = tuple(
    v for v in gazetteer.VOCABULARIES if v not in ("source_reliability", "information_credibility")
)


def add_term(admin: User, vocabulary: str, *, code: str, label_ko: str, label_en: str) -> Term:
    """A new term at the end of its vocabulary (the organisation's administrators)."""
    accounts.require_admin(admin)
    if vocabulary not in EDITABLE_VOCABULARIES:
        raise InvalidInput({"vocabulary": gettext("unknown vocabulary")})
    code = code.strip()
    if Term.objects.filter(vocabulary=vocabulary, code=code).exists():
        raise InvalidInput(
            {"code": gettext("this vocabulary already has the code %(code)s") % {"code": code}}
        )
    last = Term.objects.filter(vocabulary=vocabulary).order_by("-order").first()
    term = Term.objects.create(
        vocabulary=vocabulary,
        code=code,
        label_ko=label_ko.strip(),
        label_en=label_en.strip(),
        order=(last.order + 1) if last else 0,
    )
    audit.record(
        "incident.term.add", actor=admin, object_type="term", object_ref=f"{vocabulary}:{code}"
    )
    return term


def add_place(
    admin: User,
    *,
    code: str,
    kind: str,
    country: str,
    label_ko: str,
    label_en: str,
    label_zh: str = "",
    aliases: Sequence[str] = (),
    lat: float,
    lon: float,
) -> Place:
    """A new place of the gazetteer with every name it is found by (administrators). A name
    that already names another place is refused: a name must find one place."""
    accounts.require_admin(admin)
    code = code.strip()
    errors: dict[str, str] = {}
    if Place.objects.filter(code=code).exists():
        errors["code"] = gettext("a place already has the code %(code)s") % {"code": code}
    names = [n.strip() for n in (label_ko, label_en, label_zh, *aliases) if n and n.strip()]
    taken = dict(
        PlaceName.objects.filter(key__in=[gazetteer.name_key(n) for n in names]).values_list(
            "key", "place__code"
        )
    )
    for field_name, value in (
        ("label_ko", label_ko),
        ("label_en", label_en),
        ("label_zh", label_zh),
    ):
        if value and gazetteer.name_key(value) in taken:
            errors[field_name] = gettext("%(name)s already names the place %(code)s") % {
                "name": value,
                "code": taken[gazetteer.name_key(value)],
            }
    for alias in aliases:
        if gazetteer.name_key(alias) in taken:
            errors.setdefault(
                "aliases",
                gettext("%(name)s already names the place %(code)s")
                % {"name": alias, "code": taken[gazetteer.name_key(alias)]},
            )
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        place = Place.objects.create(
            code=code,
            kind=kind,
            country=country,
            lat=lat,
            lon=lon,
            label_ko=label_ko.strip(),
            label_en=label_en.strip(),
            label_zh=(label_zh or "").strip(),
        )
        keys: set[str] = set()
        for name in names:
            key = gazetteer.name_key(name)
            if key and key not in keys:
                keys.add(key)
                PlaceName.objects.create(place=place, name=name, key=key)
        audit.record("incident.place.add", actor=admin, object_type="place", object_ref=code)
    return place


def _change(admin: User, obj: Term | Place, action: str, in_use: bool, ref: str):
    """Retire, bring back, or delete one term or place; a used one is never deleted."""
    from jikimi.core.errors import NON_FIELD

    accounts.require_admin(admin)
    if action == "retire":
        obj.retired = True
        obj.save(update_fields=["retired"])
    elif action == "restore":
        obj.retired = False
        obj.save(update_fields=["retired"])
    elif action == "delete":
        if in_use:
            raise InvalidInput(
                {NON_FIELD: gettext("%(ref)s is used by records: retire it instead") % {"ref": ref}}
            )
        obj.delete()
    else:
        raise InvalidInput({NON_FIELD: gettext("unknown action")})
    audit.record(
        f"incident.{type(obj).__name__.lower()}.{action}",
        actor=admin,
        object_type=type(obj).__name__.lower(),
        object_ref=ref,
    )
    return None if action == "delete" else obj


def change_term(admin: User, term_id: int, action: str) -> Term | None:
    accounts.require_admin(admin)
    term = Term.objects.filter(pk=term_id).first()
    if term is None:
        raise NotFound(str(term_id))
    return _change(admin, term, action, term.pk in terms_in_use(), f"{term.vocabulary}:{term.code}")


def change_place(admin: User, place_id: int, action: str) -> Place | None:
    accounts.require_admin(admin)
    place = Place.objects.filter(pk=place_id).first()
    if place is None:
        raise NotFound(str(place_id))
    return _change(admin, place, action, place.pk in places_in_use(), place.code)
