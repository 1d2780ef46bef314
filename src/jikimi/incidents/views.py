"""Staff pages for incidents: the list of acts with its filters, recording an event, an
event, a person's acts, and the administrators' vocabularies and gazetteer.

Thin: access checks, validation that matters and audit are in incidents.services. An event
this user may not see is NotFound there and 404 here (core.errors.ServiceErrorMiddleware).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jikimi.accounts import services as accounts
from jikimi.accounts.http import StaffRequest
from jikimi.accounts.views import reauth_redirect
from jikimi.core.errors import InvalidInput
from jikimi.core.paging import MAX_OFFSET
from jikimi.people import services as people

from . import export, services, views_evidence
from .forms import (
    MAX_ACT_ROWS,
    ActForm,
    EventForm,
    EventShareForm,
    FilterForm,
    PlaceForm,
    TermForm,
    act_forms,
    place_names,
)
from .models import Place, Term

PAGE_SIZE = 50
FILTER_FIELDS = tuple(FilterForm.base_fields)


def _page_number(value: str | None) -> int:
    try:
        return min(max(1, int(value or "1")), MAX_OFFSET // PAGE_SIZE)
    except ValueError:
        return 1


# --- The list ------------------------------------------------------------------------------


@login_required
@require_GET
def event_list(request: StaffRequest) -> HttpResponse:
    """Acts, newest first, filtered (GET: the filters hold codes, dates and a place name)."""
    user = request.user
    submitted = any(request.GET.get(name) for name in FILTER_FIELDS)
    form = FilterForm(request.GET if submitted else None)
    refused = submitted and not form.is_valid()
    filters = _filters(form.cleaned_data) if submitted and not refused else {}
    page = _page_number(request.GET.get("page"))
    try:
        acts, total = services.list_acts(
            user, filters, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    except InvalidInput as exc:  # an unknown place: on its field, nothing filtered
        _attach_errors(form, exc, {"near": "place"})
        refused = True
        acts, total = services.list_acts(user, {}, offset=0, limit=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "refused": refused,
        "filtered": bool(filters) and not refused,
        "rows": acts,
        "titles": services.event_titles(user, [r.event for r in acts]),
        "total": min(total, services.COUNT_CAP),
        "more_than": total > services.COUNT_CAP,  # counted only up to the cap
        "page": page,
        # Past the cap the pages go on as long as a next page is full.
        "pages": max(1, -(-total // PAGE_SIZE)) if total <= services.COUNT_CAP else None,
        "has_next": len(acts) == PAGE_SIZE
        and (total > services.COUNT_CAP or total > page * PAGE_SIZE),
        "query": "" if refused else query.urlencode(),
        "export_query": "" if refused else _without(query, "format"),
        "place_names": place_names(),
        "can_record": accounts.can_edit_people(user),
        "show_names": user.sees_identities,
    }
    return render(request, "incidents/list.html", context, status=400 if refused else 200)


@login_required
@require_GET
def export_acts(request: StaffRequest) -> HttpResponse | StreamingHttpResponse:
    """The act list with its current filters (the list's query) as CSV or XLSX (`format`),
    in the incident CSV's columns. A sensitive action: the password again first."""
    if not accounts.recently_authenticated(request):
        return reauth_redirect(request.get_full_path())
    submitted = any(request.GET.get(name) for name in FILTER_FIELDS)
    form = FilterForm(request.GET if submitted else None)
    if submitted and not form.is_valid():
        return _plain_refusal({k: " ".join(str(m) for m in v) for k, v in form.errors.items()})
    filters = _filters(form.cleaned_data) if submitted else {}
    try:
        found = export.export_acts(
            request.user,
            filters,
            format=request.GET.get("format") or "csv",
            reauthenticated=accounts.recently_authenticated(request),
        )
    except InvalidInput as exc:
        return _plain_refusal(exc.messages())
    return export.response(found)


def _without(query: QueryDict, name: str) -> str:
    query = query.copy()
    query.pop(name, None)
    return query.urlencode()


def _plain_refusal(messages_by_field: dict[str, str]) -> HttpResponse:
    return HttpResponse(
        "; ".join(f"{k}: {v}" for k, v in messages_by_field.items()),
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    """The service's filters from the valid form (empty ones left out)."""
    flt: dict[str, Any] = {}
    for name in ("act_type", "perpetrator", "source_kind", "reliability"):
        if data.get(name):
            flt[name] = data[name]
    for name in ("date_from", "date_to"):
        if data.get(name):
            flt[name] = str(data[name])
    place = (data.get("place") or "").strip()
    if place and data.get("within_km"):
        flt["near"], flt["within_km"] = place, str(data["within_km"])
    elif place:
        flt["place"] = place
    return flt


def _attach_errors(form, exc: InvalidInput, aliases: dict[str, str] | None = None) -> None:
    for field, message in exc.messages().items():
        field = (aliases or {}).get(field, field)
        form.add_error(field if field in form.fields else None, message)


# --- Recording an event --------------------------------------------------------------------

# Where the service's field paths land on the form: an act's fields (after "acts[i].") and
# the event's source (after "information[0].").
_ACT_FIELDS = {
    "act_type": "act_type",
    "victim": "victim_code",
    "victim.person": "victim_code",
    "victim.name": "victim_name",
    "victim.name_hangul": "victim_name_hangul",
    "victim.birth_date": "victim_birth_date",
    "victim.sex": "victim_sex",
    "victim.province": "victim_province",
    "involvements[0].perpetrator": "perpetrator",
    "involvements[0].involvement": "involvement",
    "information[0].source": "source",
    "information[0].source_reliability": "source_reliability",
    "information[0].information_credibility": "information_credibility",
}
_ACT_PATH = re.compile(r"^acts\[(\d+)\]\.(.+)$")


def _raw(form, name: str) -> str:
    return str(form.data.get(form.add_prefix(name), "")).strip()


def _act_payload(act: ActForm, event: EventForm) -> dict[str, Any]:
    """One act for `services.record_event`, from what was typed (the service checks it).
    The perpetrator and the graded source of the form go with each act, so the act list
    shows them on every act's row."""
    code = _raw(act, "victim_code")
    victim: str | dict[str, str] = code or {
        "name": _raw(act, "victim_name") or _raw(act, "victim_name_hangul"),
        "name_hangul": _raw(act, "victim_name_hangul"),
        "birth_date": _raw(act, "victim_birth_date"),
        "sex": _raw(act, "victim_sex"),
        "province": _raw(act, "victim_province"),
    }
    payload: dict[str, Any] = {"act_type": _raw(act, "act_type"), "victim": victim}
    if _raw(act, "perpetrator") or _raw(act, "involvement"):
        payload["involvements"] = [
            {"perpetrator": _raw(act, "perpetrator"), "involvement": _raw(act, "involvement")}
        ]
    source = _raw(event, "source") or _raw(event, "source_kind")
    reliability = _raw(event, "source_reliability")
    credibility = _raw(event, "information_credibility")
    if source or reliability or credibility:
        payload["information"] = [
            {
                "source": source,
                "source_reliability": reliability,
                "information_credibility": credibility,
            }
        ]
    return payload


def _event_payload(event: EventForm, acts: list[ActForm]) -> dict[str, Any]:
    return {
        "title": _raw(event, "title"),
        "description": _raw(event, "description"),
        "date": _raw(event, "date"),
        "date_approx": event.data.get("date_approx") in ("on", "1", "true"),
        "place": _raw(event, "place"),
        "acts": [_act_payload(a, event) for a in acts],
    }


def _put(form, field: str | None, message: str) -> None:
    """A service error on its field, unless the form already says what is wrong there (a
    grade "G" is refused by both)."""
    if field is not None and field not in form.fields:
        field = None
    if field is None or not form.errors.get(field):
        form.add_error(field, message)


def _attach_service_errors(event: EventForm, acts: list[ActForm], exc: InvalidInput) -> None:
    for key, message in exc.messages().items():
        if match := _ACT_PATH.match(key):
            index, rest = int(match.group(1)), match.group(2)
            if rest.startswith("information[0]."):  # the event's source, given to every act
                _put(event, _ACT_FIELDS.get(rest), message)
            elif index < len(acts):
                _put(acts[index], _ACT_FIELDS.get(rest), message)
        elif key == "acts":
            _put(acts[0] if acts else event, None, message)
        else:
            _put(event, key, message)


@login_required
@require_http_methods(["GET", "POST"])
def event_new(request: StaffRequest) -> HttpResponse:
    """The form: an event, its acts (rows; blank ones ignored) and its graded source. Saved
    all or nothing; on any error every problem is shown at its field and nothing is saved."""
    user = request.user
    services.require_recorder(user)  # AccessDenied → 403
    if request.method == "GET":
        return _new_page(request, EventForm(), act_forms(None))
    post = request.POST
    if post.get("add_act"):  # "Add another act" without JavaScript: the form again, a row more
        rows = [
            ActForm(initial=_initial(post, f.prefix), prefix=f.prefix)
            for f in act_forms(post, add=True)
        ]
        return _new_page(request, EventForm(initial=post.dict()), rows)
    form = EventForm(post)
    rows = act_forms(post)
    filled = [f for f in rows if not f.is_blank]
    valid = form.is_valid()
    valid = all([f.is_valid() for f in filled]) and valid
    payload = _event_payload(form, filled)
    try:
        if valid:
            event = services.record_event(user, **payload)
        else:  # every problem at once: the service's checks too, without writing
            services.validate_event(user, payload)
    except InvalidInput as exc:
        _attach_service_errors(form, filled or rows[:1], exc)
    else:
        if valid:
            messages.success(request, _("Saved: the event %(code)s.") % {"code": event.code})
            return redirect("incidents:detail", code=event.code)
    return _new_page(request, form, rows, status=400)


def _initial(post: QueryDict, prefix: str | None) -> dict[str, str]:
    start = f"{prefix}-"
    return {k[len(start) :]: str(post.get(k, "")) for k in post if k.startswith(start)}


def _new_page(request, form: EventForm, rows: list[ActForm], *, status: int = 200):
    next_index = int((rows[-1].prefix or "act-0").split("-")[1]) + 1
    return render(
        request,
        "incidents/new.html",
        {
            "form": form,
            "rows": rows,
            "next_index": next_index,
            "can_add": len(rows) < MAX_ACT_ROWS,
            "place_names": place_names(),
        },
        status=status,
    )


@login_required
@require_GET
def act_row(request: StaffRequest) -> HttpResponse:
    """htmx: one more empty act row, and the button that adds the one after it."""
    services.require_recorder(request.user)
    try:
        index = min(max(0, int(request.GET.get("index", "0"))), MAX_ACT_ROWS - 1)
    except ValueError:
        index = 0
    return render(
        request,
        "incidents/_act_row.html",
        {
            "act": ActForm(prefix=f"act-{index}"),
            "number": index + 1,
            "next_index": index + 1,
            "can_add": index + 1 < MAX_ACT_ROWS,
            "oob": True,
        },
    )


# --- An event, a person's acts ------------------------------------------------------------


@login_required
@require_GET
def event_detail(request: StaffRequest, code: str) -> HttpResponse:
    user = request.user
    event = services.get_event(user, code)  # NotFound (404) unless its own or shared with it
    return _detail_page(request, event)


def _detail_page(
    request: StaffRequest, event, *, share_form: EventShareForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    detail = services.event_detail(user, event)
    owner = not services.is_shared_with(user, event)
    can_share = owner and accounts.can_edit_people(user)
    # Each source once, with its grades: the form gives one source to every act.
    sources = {
        (i.source_kind.code if i.source_kind else "", i.source, i.reliability, i.credibility): i
        for i in [*detail.information, *(i for a in detail.acts for i in a.information)]
    }
    return render(
        request,
        "incidents/detail.html",
        {
            "event": detail,
            "sources": list(sources.values()),
            "organisation": event.organisation,
            "show_names": user.sees_identities,
            # A case worker opens a protection case from an act (an arrest, a disappearance);
            # a shared event is read-only for the grantee: no forms, no buttons that write.
            "open_cases": owner and accounts.can_edit_people(user),
            "owner": owner,
            "can_share": can_share,
            "grants": services.event_grants(user, event, live_only=True) if owner else [],
            "share_form": share_form
            or (
                EventShareForm(organisations=services.sharing_targets(user)) if can_share else None
            ),
            **views_evidence.evidence_context(request, event, acts=detail.acts),
        },
        status=status,
    )


@login_required
@require_POST
def event_share(request: StaffRequest, code: str) -> HttpResponse:
    """The owner shares the event with another organisation (organisation, reason)."""
    user = request.user
    event = services.get_event(user, code, purpose="share")  # 404, or 403 through a grant
    services.require_recorder(user)  # 403
    form = EventShareForm(request.POST, organisations=services.sharing_targets(user))
    if form.is_valid():
        try:
            grant = services.share_event(
                user, event, form.cleaned_data["organisation"], form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            _attach_errors(form, exc)
        else:
            messages.success(
                request,
                _("Shared with %(org)s: it can read this event, not change it.")
                % {"org": grant.to_organisation.name},
            )
            return redirect("incidents:detail", code=event.code)
    return _detail_page(request, event, share_form=form, status=400)


@login_required
@require_POST
def event_unshare(request: StaffRequest, code: str, grant_id: int) -> HttpResponse:
    """The owner ends one live grant of the event."""
    user = request.user
    event = services.get_event(user, code, purpose="unshare")  # 404, or 403 through a grant
    grant = services.unshare_event(user, event, grant_id)  # 404 for no such live grant
    messages.success(
        request,
        _("%(org)s can no longer read this event.") % {"org": grant.to_organisation.name},
    )
    return redirect("incidents:detail", code=event.code)


@login_required
@require_GET
def person_acts(request: StaffRequest, code: str) -> HttpResponse:
    user = request.user
    person = people.get_person(user, code)  # NotFound (404), audited
    rows = services.acts_of_person(user, person)
    return render(
        request,
        "incidents/person.html",
        {
            "person": person,
            "rows": rows,
            "titles": services.event_titles(user, [r.event for r in rows]),
            "show_names": user.sees_identities,
        },
    )


# --- Administration: vocabularies and the gazetteer ---------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def admin_vocabularies(request: StaffRequest) -> HttpResponse:
    accounts.require_admin(request.user)  # others: 404
    vocabulary = request.GET.get("v") or services.EDITABLE_VOCABULARIES[0]
    if vocabulary not in services.EDITABLE_VOCABULARIES:  # the grades are a fixed scale
        raise Http404
    form = TermForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                term = services.add_term(request.user, vocabulary, **form.cleaned_data)
            except InvalidInput as exc:
                _attach_errors(form, exc)
            else:
                messages.success(request, _("Saved: %(code)s added.") % {"code": term.code})
                return redirect(f"{request.path}?v={vocabulary}")
    in_use = services.terms_in_use()
    terms = Term.objects.filter(vocabulary=vocabulary).order_by("order", "code")
    return render(
        request,
        "incidents/admin_vocabularies.html",
        {
            "form": form,
            "vocabulary": vocabulary,
            "vocabularies": [(v, _vocabulary_label(v)) for v in services.EDITABLE_VOCABULARIES],
            "terms": [(t, t.pk in in_use) for t in terms],
            "tab": "vocabularies",
        },
        status=400 if form.errors else 200,
    )


def _vocabulary_label(vocabulary: str) -> str:
    return {
        "act_type": _("Act types"),
        "perpetrator": _("Perpetrators"),
        "involvement": _("Degrees of involvement"),
        "source_kind": _("Kinds of source"),
        "determination": _("Return determinations"),
    }.get(vocabulary, vocabulary)


@login_required
@require_POST
def admin_term(request: StaffRequest, term_id: int) -> HttpResponse:
    """Retire, bring back or delete (only when no record uses it) a term."""
    accounts.require_admin(request.user)
    try:
        term = services.change_term(request.user, term_id, request.POST.get("do", ""))
    except InvalidInput as exc:  # in use: retire it instead
        for message in exc.messages().values():
            messages.error(request, message)
    else:
        if term is None:
            messages.success(request, _("Deleted."))
        else:
            messages.success(request, _("Saved: %(code)s.") % {"code": term.code})
    return redirect(f"{reverse('incidents_admin:vocabularies')}?v={request.POST.get('v', '')}")


@login_required
@require_GET
def admin_event_grants(request: StaffRequest) -> HttpResponse:
    """For the organisation's administrators (others: 404): every event grant it gave and got."""
    ours, theirs = services.organisation_event_grants(request.user)
    return render(
        request,
        "incidents/admin_event_grants.html",
        {"ours": ours, "theirs": theirs, "tab": "event_grants"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def admin_places(request: StaffRequest) -> HttpResponse:
    accounts.require_admin(request.user)
    form = PlaceForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                place = services.add_place(request.user, **form.cleaned_data)
            except InvalidInput as exc:
                _attach_errors(form, exc)
            else:
                messages.success(request, _("Saved: %(code)s added.") % {"code": place.code})
                return redirect("incidents_admin:places")
    in_use = services.places_in_use()
    places = Place.objects.order_by("country", "kind", "label_en").prefetch_related("names")
    return render(
        request,
        "incidents/admin_places.html",
        {
            "form": form,
            "places": [(p, p.pk in in_use) for p in places],
            "kinds": dict(PlaceForm.KINDS),
            "tab": "places",
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def admin_place(request: StaffRequest, place_id: int) -> HttpResponse:
    accounts.require_admin(request.user)
    try:
        place = services.change_place(request.user, place_id, request.POST.get("do", ""))
    except InvalidInput as exc:  # in use: retire it instead
        for message in exc.messages().values():
            messages.error(request, message)
    else:
        if place is None:
            messages.success(request, _("Deleted."))
        else:
            messages.success(request, _("Saved: %(code)s.") % {"code": place.code})
    return redirect("incidents_admin:places")
