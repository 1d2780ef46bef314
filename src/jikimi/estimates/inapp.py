"""Estimates from the records in the database (DESIGN §7): capture histories and strata.

The file-based engine (``tables``, ``loglinear``, ``bma``, ``lcmcr``, ``services``) needs no
Django; this module is the in-app layer over it. It turns the import provenance of people
(``SourceRecord.source``: which list a person came from) into capture-history tables, with
same-person links applied so that a linked individual counts once, and runs
``services.estimate_population`` on the total and on each stratum.

Access: only people the user can see (``people.services.visible_people``: the user's
organisation plus persons shared with it), and of their source records only those imported
by the user's organisation or by the person's own organisation. Roles: analysts,
supervisors and admins; the result is aggregate only. Every run writes ``estimate.run`` to
the audit log with the lists, method and stratification (no personal data).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.core.cache import cache
from django.db.models import Count, F, Q
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role, User
from jikimi.audit import services as audit
from jikimi.core.errors import InvalidInput
from jikimi.people.models import SourceRecord
from jikimi.people.services import visible_people

from .loglinear import NoFiniteEstimate
from .messages import Message, is_passed_check, localised
from .runner import EstimateOutcome, compute_estimate
from .services import METHODS, Estimate, estimate_population
from .tables import MAX_LISTS, CaptureTable, table_from_counts

ESTIMATE_ROLES = (Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)
STRATIFY_CHOICES = ("defection_year", "province", "birth_decade", "act_type", "determination")
# Capture histories from incidents (issue #14 point 7): a list named "incidents:KIND" is the
# source kind KIND of incident information (case_file, family_report, ngo_list, media,
# nk_media); a person is on it when a return act about them (incidents.determinations:
# RETURN_ACT_TYPES) has information from a source of that kind. Such lists can be stratified
# by act type or by the current return determination; the records' lists cannot.
INCIDENT_LIST_PREFIX = "incidents:"
INCIDENT_STRATA = ("act_type", "determination")
# How a message names a stratification (translated with it: see ``messages``).
STRATIFY_LABELS = {
    "defection_year": Message(gettext_noop("year of defection")),
    "province": Message(gettext_noop("province of origin")),
    "birth_decade": Message(gettext_noop("decade of birth")),
    "act_type": Message(gettext_noop("act type")),
    "determination": Message(gettext_noop("return determination")),
}
UNKNOWN_STRATUM = "unknown"
MIN_STRATUM_OBSERVED = 10  # below this a stratum gets a reason, not a number
MAX_STRATA = 60
# Results are cached by table and options (aggregate figures only, no personal data), so that
# looking at a stratified result again, or downloading its table, does not rerun the samplers.
# The version changes whenever the engine's numbers would.
CACHE_VERSION = "estimates-3"
CACHE_SECONDS = 24 * 3600
LCMCR_CHAIN_OPTIONS = ("burnin", "samples", "thin")

ClusterFn = Callable[[Iterable[UUID]], Mapping[UUID, Any]]


class EstimateRequestError(InvalidInput):
    """Bad request: ``errors`` maps a field name to a message (pages and API show it there)."""


# --- Who may run estimates -----------------------------------------------------------------


def can_run_estimates(user: User) -> bool:
    return bool(user.is_authenticated and user.organisation_id and user.role in ESTIMATE_ROLES)


def require_estimates(user: User) -> None:
    if not can_run_estimates(user):
        raise accounts.AccessDenied(
            gettext("Estimates are for analysts, supervisors and administrators.")
        )


# --- Which records count --------------------------------------------------------------------


def _records(user: User):
    """Source records of visible people, imported by this organisation or the person's own."""
    return SourceRecord.objects.filter(person__in=visible_people(user)).filter(
        Q(organisation_id=user.organisation_id) | Q(organisation_id=F("person__organisation_id"))
    )


def available_lists(user: User) -> list[tuple[str, int]]:
    """Each source the user's data has, with the number of visible people on it (by name)."""
    require_estimates(user)
    rows = (
        _records(user)
        .values("source")
        .annotate(people=Count("person_id", distinct=True))
        .order_by("source")
    )
    from jikimi.incidents.determinations import capture_lists

    return [(row["source"], row["people"]) for row in rows] + [
        (INCIDENT_LIST_PREFIX + kind, n) for kind, n in capture_lists(user)
    ]


def _is_incident_list(source: str) -> bool:
    return source.startswith(INCIDENT_LIST_PREFIX)


def default_cluster_of() -> ClusterFn:
    """The linkage app's clustering of people by live same-person links."""
    from jikimi.linkage.services import person_clusters

    return person_clusters


def _normalise_lists(lists) -> dict[str, tuple[str, ...]]:
    """``["A", "B"]`` (each source a list) or ``{"NGO": ["A", "B"], ...}`` (source types)."""
    if isinstance(lists, str):
        lists = [part for part in lists.split(",")]
    if isinstance(lists, Mapping):
        mapping = {str(k).strip(): tuple(str(s).strip() for s in v) for k, v in lists.items()}
    else:
        mapping = {}
        for name in lists or ():
            name = str(name).strip()
            if name and name not in mapping:
                mapping[name] = (name,)
    return mapping


# --- Strata ---------------------------------------------------------------------------------


def _stratum_value(person: dict, stratify_by: str) -> str | None:
    if stratify_by == "defection_year":
        value = person["defection_year"]
        return str(value) if value else None
    if stratify_by == "birth_decade":
        value = person["birth_year"]
        return f"{value // 10 * 10}s" if value else None
    if stratify_by == "province":
        return person["province"] or None
    raise EstimateRequestError(
        {"stratify_by": _("unknown stratification %(name)s") % {"name": repr(stratify_by)}}
    )


def _stratum_sort_key(key: str) -> tuple:
    return (key == UNKNOWN_STRATUM, key)


# --- Capture histories ----------------------------------------------------------------------


@dataclass
class CaptureHistories:
    """The capture-history table of the chosen lists, in total and per stratum."""

    lists: tuple[str, ...]
    sources: dict[str, tuple[str, ...]]
    total: CaptureTable
    stratify_by: str | None = None
    strata: dict[str, CaptureTable] = field(default_factory=dict)
    people: int = 0  # person rows on the chosen lists
    individuals: int = 0  # after same-person links
    linked: bool = False  # whether a clustering was applied
    warnings: list[str] = field(default_factory=list)


def _check_lists(user: User, sources: dict[str, tuple[str, ...]], stratify_by: str | None) -> None:
    """The role, then the lists (two to ``MAX_LISTS``, each a source the user's data has, no
    source in two lists) and the stratification: ``EstimateRequestError`` naming the field."""
    require_estimates(user)
    errors: dict[str, str] = {}
    if len(sources) < 2:
        errors["lists"] = _("choose at least two lists")
    elif len(sources) > MAX_LISTS:
        errors["lists"] = _("choose at most %(n)d lists") % {"n": MAX_LISTS}
    if stratify_by is not None and stratify_by not in STRATIFY_CHOICES:
        errors["stratify_by"] = _("choose one of %(choices)s") % {
            "choices": ", ".join(STRATIFY_CHOICES)
        }
    if not errors:
        known = {name for name, _ in available_lists(user)}
        unknown = sorted({s for group in sources.values() for s in group} - known)
        if unknown:
            errors["lists"] = _("unknown list(s): %(names)s") % {"names": ", ".join(unknown)}
        list_of_source: dict[str, str] = {}
        for name, group in sources.items():
            for source in group:
                if source in list_of_source and list_of_source[source] != name:
                    errors["lists"] = _("source %(name)s is in two lists") % {"name": source}
                list_of_source[source] = name
        kinds = {_is_incident_list(source) for source in list_of_source}
        if len(kinds) > 1:
            errors["lists"] = _("choose either incident lists or record lists, not both")
        elif stratify_by in INCIDENT_STRATA and kinds != {True}:
            errors["stratify_by"] = _("act type and determination strata need incident lists")
        elif stratify_by and stratify_by not in INCIDENT_STRATA and kinds == {True}:
            errors["stratify_by"] = _("incident lists are stratified by act type or determination")
    if errors:
        raise EstimateRequestError(errors)


def capture_histories(
    user: User,
    *,
    lists: Sequence[str] | Mapping[str, Sequence[str]],
    stratify_by: str | None = None,
    cluster_of: ClusterFn | None = None,
) -> CaptureHistories:
    """Cross-tabulate the user's people by the lists they appear on.

    Steps: 1. check the role and the request (at least two lists, each a source the user's data
    has, at most ``MAX_LISTS``); 2. collect the visible people's source records on those lists;
    3. join people into individuals with ``cluster_of`` (default: the linkage app's
    ``person_clusters``; without one each person is an individual, with a warning) — an
    individual is on a list when any of its people is; 4. count each individual's capture
    pattern, in total and in its stratum (the most common non-empty value of its people; none:
    ``unknown``, so the strata always sum to the total).
    """
    sources = _normalise_lists(lists)
    if stratify_by in ("", "none"):
        stratify_by = None
    _check_lists(user, sources, stratify_by)
    if all(_is_incident_list(s) for group in sources.values() for s in group):
        return _incident_histories(user, sources, stratify_by, cluster_of)

    names = tuple(sources)
    position = {source: names.index(name) for name, group in sources.items() for source in group}
    on_lists: dict[UUID, set[int]] = {}
    attributes: dict[UUID, dict] = {}
    rows = (
        _records(user)
        .filter(source__in=list(position))
        .values_list(
            "source",
            "person_id",
            "person__defection_year",
            "person__birth_year",
            "person__province",
        )
    )
    for source, person_id, defection_year, birth_year, province in rows:
        on_lists.setdefault(person_id, set()).add(position[source])
        attributes[person_id] = {
            "defection_year": defection_year,
            "birth_year": birth_year,
            "province": province,
        }

    warnings: list[str] = []
    members = _individuals(on_lists, cluster_of)

    total: Counter = Counter()
    by_stratum: dict[str, Counter] = {}
    conflicts = 0
    for people in members.values():
        seen = set().union(*(on_lists[p] for p in people))
        pattern = tuple(int(i in seen) for i in range(len(names)))
        total[pattern] += 1
        if stratify_by:
            values = Counter(
                v
                for p in people
                if p in attributes and (v := _stratum_value(attributes[p], stratify_by))
            )
            if len(values) > 1:
                conflicts += 1
            key = (
                min(values.items(), key=lambda kv: (-kv[1], kv[0]))[0]
                if values
                else UNKNOWN_STRATUM
            )
            by_stratum.setdefault(key, Counter())[pattern] += 1

    if conflicts and stratify_by:  # (only a stratified count has conflicts)
        warnings.append(_conflict_warning(conflicts, stratify_by))
    return _histories(
        names, sources, total, by_stratum, stratify_by, len(on_lists), len(members), warnings
    )


def _individuals(
    on_lists: Mapping[UUID, set[int]], cluster_of: ClusterFn | None
) -> dict[Any, list[UUID]]:
    """The people on the lists grouped by individual: linkage's clusters (the default), each
    person not linked to anyone an individual alone."""
    if cluster_of is None:
        cluster_of = default_cluster_of()
    clusters: Mapping[UUID, Any] = cluster_of(list(on_lists))
    members: dict[Any, list[UUID]] = {}
    for person_id in on_lists:
        members.setdefault(clusters.get(person_id, person_id), []).append(person_id)
    return members


def _conflict_warning(conflicts: int, stratify_by: str) -> str:
    return Message(
        gettext_noop(
            "%(n)d linked individual(s) have people that disagree on %(field)s; the most "
            "common value was used"
        )
    ) % {"n": conflicts, "field": STRATIFY_LABELS[stratify_by]}


def _histories(
    names: tuple[str, ...],
    sources: dict[str, tuple[str, ...]],
    total: Counter,
    by_stratum: dict[str, Counter],
    stratify_by: str | None,
    people: int,
    individuals: int,
    warnings: list[str],
) -> CaptureHistories:
    """The capture histories of counted patterns (every individual was grouped by linkage),
    the strata in their order; too many strata is a refusal naming the stratification."""
    if len(by_stratum) > MAX_STRATA:
        raise EstimateRequestError(
            {
                "stratify_by": _("%(n)d strata; at most %(max)d are supported")
                % {"n": len(by_stratum), "max": MAX_STRATA}
            }
        )
    strata = {
        key: table_from_counts(names, dict(by_stratum[key]))
        for key in sorted(by_stratum, key=_stratum_sort_key)
    }
    return CaptureHistories(
        lists=names,
        sources=sources,
        total=table_from_counts(names, dict(total)),
        stratify_by=stratify_by,
        strata=strata,
        people=people,
        individuals=individuals,
        linked=True,
        warnings=warnings,
    )


def _incident_histories(
    user: User,
    sources: dict[str, tuple[str, ...]],
    stratify_by: str | None,
    cluster_of: ClusterFn | None,
) -> CaptureHistories:
    """Capture histories from acts, through ``incidents.determinations.capture_records``:
    linked people count once; an individual is in every stratum it has a record in (by act
    type one person can be in several: then the strata do not add up to the total, and a
    warning says so); by determination, the most common current determination of its people."""
    from jikimi.incidents.determinations import capture_records

    names = tuple(sources)
    position = {
        source[len(INCIDENT_LIST_PREFIX) :]: names.index(name)
        for name, group in sources.items()
        for source in group
    }
    records = capture_records(user, stratify_by=stratify_by)
    on_lists: dict[UUID, set[int]] = {}
    strata_of: dict[UUID, dict[str, set[int]]] = {}
    for record in records:
        if record.list not in position:
            continue
        on_lists.setdefault(record.person_id, set()).add(position[record.list])
        if stratify_by:
            strata_of.setdefault(record.person_id, {}).setdefault(str(record.stratum), set()).add(
                position[record.list]
            )
    members = _individuals(on_lists, cluster_of)

    def pattern(seen: set[int]) -> tuple[int, ...]:
        return tuple(int(i in seen) for i in range(len(names)))

    total: Counter = Counter()
    by_stratum: dict[str, Counter] = {}
    several = conflicts = 0
    for group in members.values():
        total[pattern(set().union(*(on_lists[p] for p in group)))] += 1
        if not stratify_by:
            continue
        merged: dict[str, set[int]] = {}
        for p in group:
            for key, seen in strata_of.get(p, {}).items():
                merged.setdefault(key, set()).update(seen)
        if stratify_by == "determination" and len(merged) > 1:
            conflicts += 1
            votes = Counter(key for p in group for key in strata_of.get(p, {}))
            key = min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            merged = {key: set().union(*merged.values())}
        elif len(merged) > 1:
            several += 1
        for key, seen in merged.items():
            by_stratum.setdefault(key, Counter())[pattern(seen)] += 1
    warnings: list[str] = []
    if several:
        warnings.append(
            Message(
                gettext_noop(
                    "%(n)d individual(s) are in more than one act-type stratum; the strata do "
                    "not add up to the total"
                )
            )
            % {"n": several}
        )
    if conflicts:
        warnings.append(_conflict_warning(conflicts, "determination"))
    return _histories(
        names, sources, total, by_stratum, stratify_by, len(on_lists), len(members), warnings
    )


# --- Estimates ------------------------------------------------------------------------------


@dataclass
class StratumResult:
    """An estimate for one table, or the reason there is none."""

    stratum: str | None
    table: CaptureTable
    estimate: Estimate | None = None
    reason: str = ""
    # Of the estimate's warnings, those that report a check that passed (the page shows them
    # apart, outside the warning box; the JSON keeps them among the warnings).
    notes: list[str] = field(default_factory=list)

    @property
    def observed(self) -> int:
        return self.table.observed

    @property
    def alerts(self) -> list[str]:
        """The estimate's warnings that are warnings: without the passed checks (``notes``)."""
        if self.estimate is None:
            return []
        return [w for w in self.estimate.warnings if w not in self.notes]

    def to_json_dict(self, method: str, level: float) -> dict:
        if self.estimate is not None:
            data = self.estimate.to_json_dict()
        else:
            data = {
                "method": method,
                "lists": list(self.table.lists),
                "observed": self.observed,
                "estimate": None,
                "interval": [None, None],
                "level": level,
                "model": "",
                "warnings": [],
                "reason": self.reason,
            }
        if self.stratum is not None:
            data = {"stratum": self.stratum, **data}
        return data


@dataclass
class InAppEstimate:
    histories: CaptureHistories
    method: str
    level: float
    seed: int | None
    total: StratumResult
    strata: list[StratumResult] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The Estimate JSON contract of DESIGN §8, plus the strata and what was counted."""
        data = self.total.to_json_dict(self.method, self.level)
        data["warnings"] = [*self.histories.warnings, *data["warnings"]]
        data["stratify_by"] = self.histories.stratify_by
        data["strata"] = [s.to_json_dict(self.method, self.level) for s in self.strata]
        data["individuals"] = self.histories.individuals
        data["records_linked"] = self.histories.linked
        return data


def _planned(
    stratum: str | None, table: CaptureTable, method: str, opts: dict
) -> StratumResult | dict:
    """The reason a table gets no estimate without running one, or the options to run it."""
    if stratum is not None and table.observed < MIN_STRATUM_OBSERVED:
        return StratumResult(
            stratum,
            table,
            reason=Message(
                gettext_noop(
                    "too few people for an estimate (%(n)d observed; at least %(min)d are needed)"
                )
            )
            % {"n": table.observed, "min": MIN_STRATUM_OBSERVED},
        )
    if table.observed == 0:
        return StratumResult(
            stratum, table, reason=Message(gettext_noop("no one is on any of the chosen lists"))
        )
    if (
        stratum is not None
        and method == "lcmcr"
        and not any(k in opts for k in LCMCR_CHAIN_OPTIONS)
    ):
        # Strata: the sampler's quick chain, rerun at full length if it fails the check.
        opts = {**opts, "quick": True}
    return opts


def _outcome(
    stratum: str | None,
    table: CaptureTable,
    estimate: Estimate | None,
    reason: Exception | None,
) -> StratumResult:
    """One table's result from what the engine gave (in English: see ``localise``)."""
    if reason is not None:
        if stratum is None and not isinstance(reason, NoFiniteEstimate):
            raise EstimateRequestError({"method": localised(reason.args[0], gettext)})
        return StratumResult(stratum, table, reason=_reason(reason))
    assert estimate is not None  # noqa: S101 - one of the two is always set
    if not math.isfinite(estimate.estimate):
        return StratumResult(
            stratum, table, reason=Message(gettext_noop("no finite estimate exists"))
        )
    return StratumResult(stratum, table, estimate=estimate)


def _estimate_one(
    stratum: str | None, table: CaptureTable, method: str, level: float, seed, opts: dict
) -> StratumResult:
    """One table's estimate, or the reason there is none (in English: see ``localise``)."""
    planned = _planned(stratum, table, method, opts)
    if isinstance(planned, StratumResult):
        return planned
    estimate, reason = _cached_estimate(table, method, level, seed, planned)
    return _outcome(stratum, table, estimate, reason)


def _reason(exc: Exception) -> str:
    return exc.args[0] if exc.args else str(exc)


def cache_key(table: CaptureTable, method: str, level: float, seed, opts: dict) -> str:
    """The results cache's key for one table and every option that changes its numbers."""
    key_text = repr(
        (
            CACHE_VERSION,
            table.lists,
            table.counts.tolist(),
            method,
            level,
            seed,
            sorted(opts.items()),
        )
    )
    return "jikimi:estimate:" + hashlib.sha256(key_text.encode()).hexdigest()


def _cached_estimate(
    table: CaptureTable, method: str, level: float, seed, opts: dict
) -> EstimateOutcome:
    """``estimate_population`` on a table, or the error that stopped it; cached by the table's
    counts and every option, so the same request gives the same numbers without rerunning."""
    key = cache_key(table, method, level, seed, opts)
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute_estimate(table, method, level, seed, opts, engine=estimate_population)
    cache.set(key, value, CACHE_SECONDS)
    return value


def localise(result: StratumResult) -> StratumResult:
    """The result with the engine's messages (reason, warnings) in the active language."""
    estimate, notes = result.estimate, []
    if estimate is not None:
        notes = [localised(w, gettext) for w in estimate.warnings if is_passed_check(w)]
        estimate = dataclasses.replace(
            estimate, warnings=[localised(w, gettext) for w in estimate.warnings]
        )
    return dataclasses.replace(
        result, estimate=estimate, reason=localised(result.reason, gettext), notes=notes
    )


def localise_estimate(result: InAppEstimate) -> InAppEstimate:
    """Every message of an in-app estimate in the active language (its warnings, reasons)."""
    histories = dataclasses.replace(
        result.histories, warnings=[localised(w, gettext) for w in result.histories.warnings]
    )
    return dataclasses.replace(
        result,
        histories=histories,
        total=localise(result.total),
        strata=[localise(s) for s in result.strata],
    )


# How the stepwise interval is made: "model", the Wald interval conditional on the chosen
# model (fast); "bootstrap", BCa over resampled tables with the model chosen anew on each
# (docs/estimates.md: 84.5% against 75.5% coverage when a dependence is found only sometimes).
INTERVALS = ("model", "bootstrap")
BOOTSTRAP_REPLICATES = 500


@dataclass
class EstimateRequest:
    """A checked request: what the page, the API and a background job all run."""

    lists: Any  # as given: names, or {list name: [sources]}
    method: str
    level: float
    stratify_by: str | None
    seed: int | None
    interval: str
    opts: dict = field(default_factory=dict)

    def params(self) -> dict:
        """The request as JSON (a background job keeps it): what ``check_request`` takes."""
        lists = (
            {str(k): [str(s) for s in v] for k, v in self.lists.items()}
            if isinstance(self.lists, Mapping)
            else [str(name) for name in self.lists]
        )
        return {
            "lists": lists,
            "method": self.method,
            "level": self.level,
            "stratify_by": self.stratify_by,
            "seed": self.seed,
            "interval": self.interval,
        }


def check_request(
    user: User,
    *,
    lists,
    method: str = "stepwise",
    level: float = 0.95,
    stratify_by: str | None = None,
    seed: int | None = None,
    interval: str = "model",
    check_lists: bool = False,
    **opts,
) -> EstimateRequest:
    """The request's values, checked (``EstimateRequestError`` naming each bad field).

    With ``check_lists`` the lists and the stratification are checked against the user's
    data too (as ``capture_histories`` does), so that a background job is refused at once.
    """
    errors: dict[str, str] = {}
    if method not in METHODS:
        errors["method"] = _("choose one of %(choices)s") % {"choices": ", ".join(METHODS)}
    try:
        level = float(level)
        if not 0.5 <= level <= 0.999:
            errors["level"] = _("must be between 0.5 and 0.999")
    except (TypeError, ValueError):
        errors["level"] = _("must be a number such as 0.95")
    if seed not in (None, ""):
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            errors["seed"] = _("must be a whole number")
    else:
        seed = None
    if interval not in INTERVALS:
        errors["interval"] = _("choose one of %(choices)s") % {"choices": ", ".join(INTERVALS)}
    elif interval == "bootstrap":
        if method != "stepwise":
            errors["interval"] = _("the bootstrap interval is offered for the stepwise method")
        else:
            opts["bootstrap"] = BOOTSTRAP_REPLICATES
    if errors:
        require_estimates(user)
        raise EstimateRequestError(errors)
    if stratify_by in ("", "none"):
        stratify_by = None
    if check_lists:
        _check_lists(user, _normalise_lists(lists), stratify_by)
    return EstimateRequest(lists, method, level, stratify_by, seed, interval, opts)


@dataclass
class EstimatePlan:
    """What a request needs computed: per table (the total first, then each stratum), the
    result already known (a reason) or the options to run the engine with."""

    request: EstimateRequest
    histories: CaptureHistories
    items: list[tuple[str | None, CaptureTable, StratumResult | dict]]

    def pending(self) -> list[tuple[int, CaptureTable, dict]]:
        """The tables the engine must run on: (position in ``items``, table, options)."""
        return [
            (i, table, planned)
            for i, (_stratum, table, planned) in enumerate(self.items)
            if not isinstance(planned, StratumResult)
        ]


def plan_estimate(
    user: User, request: EstimateRequest, *, cluster_of: ClusterFn | None = None
) -> EstimatePlan:
    """The capture histories of a checked request and what each table needs."""
    histories = capture_histories(
        user, lists=request.lists, stratify_by=request.stratify_by, cluster_of=cluster_of
    )
    tables: list[tuple[str | None, CaptureTable]] = [(None, histories.total)]
    tables += list(histories.strata.items())
    items = [
        (key, table, _planned(key, table, request.method, request.opts)) for key, table in tables
    ]
    return EstimatePlan(request, histories, items)


def finish_plan(
    user: User, plan: EstimatePlan, outcomes: Mapping[int, EstimateOutcome]
) -> InAppEstimate:
    """The in-app estimate from the engine's outcomes (messages still in English), audited
    as ``estimate.run``. The total's input error raises ``EstimateRequestError``."""
    results = []
    for i, (key, table, planned) in enumerate(plan.items):
        if isinstance(planned, StratumResult):
            results.append(planned)
        else:
            estimate, reason = outcomes[i]
            results.append(_outcome(key, table, estimate, reason))
    request, histories = plan.request, plan.histories
    audit.record(
        "estimate.run",
        actor=user,
        object_type="estimate",
        detail={
            "lists": {name: list(group) for name, group in histories.sources.items()},
            "method": request.method,
            "level": request.level,
            "stratify_by": histories.stratify_by,
            "seed": request.seed,
            "interval": request.interval,
            "observed": histories.total.observed,
        },
    )
    return InAppEstimate(
        histories, request.method, request.level, request.seed, results[0], results[1:]
    )


def cached_outcomes(plan: EstimatePlan) -> dict[int, EstimateOutcome]:
    """Of the tables the plan must run, those whose result the cache already holds."""
    request = plan.request
    found = {}
    for i, table, opts in plan.pending():
        hit = cache.get(cache_key(table, request.method, request.level, request.seed, opts))
        if hit is not None:
            found[i] = hit
    return found


def store_outcome(plan: EstimatePlan, i: int, outcome: EstimateOutcome) -> None:
    """Keep a table's computed result in the cache, as a request computing it would."""
    request = plan.request
    _stratum, table, opts = plan.items[i]
    assert isinstance(opts, dict)  # noqa: S101 - only pending items are computed
    key = cache_key(table, request.method, request.level, request.seed, opts)
    cache.set(key, outcome, CACHE_SECONDS)


def run_estimate(
    user: User,
    *,
    lists,
    method: str = "stepwise",
    level: float = 0.95,
    stratify_by: str | None = None,
    seed: int | None = None,
    cluster_of: ClusterFn | None = None,
    interval: str = "model",
    **opts,
) -> InAppEstimate:
    """Capture histories for the user's data, then one estimate for the total and each stratum.

    A stratum with fewer than ``MIN_STRATUM_OBSERVED`` people, or whose lists fail the
    existence check, carries the reason instead of a number; so can the total. Reasons and
    warnings are in the active language. With ``lcmcr`` each stratum runs the sampler's quick
    chain (``lcmcr.QUICK``, with the full chain when it fails the convergence check); the
    total runs the full chain, as the command does.
    """
    request = check_request(
        user,
        lists=lists,
        method=method,
        level=level,
        stratify_by=stratify_by,
        seed=seed,
        interval=interval,
        **opts,
    )
    plan = plan_estimate(user, request, cluster_of=cluster_of)
    outcomes: dict[int, EstimateOutcome] = {}
    for i, table, planned in plan.pending():
        outcomes[i] = _cached_estimate(table, request.method, request.level, request.seed, planned)
        if i == 0:  # the total's input error stops the request before the strata run
            _outcome(None, table, *outcomes[i])
    return localise_estimate(finish_plan(user, plan, outcomes))


# --- Presentation helpers (pages, CSV) ------------------------------------------------------


def table_rows(histories: CaptureHistories) -> list[dict]:
    """One row per observable pattern (total and per stratum), for the CSV and the page."""
    rows = []
    tables = histories.strata.items() if histories.stratify_by else [(None, histories.total)]
    for stratum, table in tables:
        for pattern, count in zip(table.patterns, table.counts, strict=True):
            rows.append(
                {"pattern": [int(x) for x in pattern], "stratum": stratum, "count": int(count)}
            )
    return rows


def record_export(user: User, histories: CaptureHistories) -> None:
    audit.record(
        "estimate.export",
        actor=user,
        object_type="capture_histories",
        detail={
            "lists": {name: list(group) for name, group in histories.sources.items()},
            "stratify_by": histories.stratify_by,
            "format": "csv",
            "suppressed": False,
        },
    )
