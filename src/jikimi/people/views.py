"""Staff pages for people: list and search, create, detail, edit and the detail page's forms.

Thin: every access check and audit row is in people.services. A person this user may not see
is NotFound there and 404 here (jikimi.core.errors.ServiceErrorMiddleware), never 403, so a
code cannot be probed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jikimi.accounts import services as accounts
from jikimi.accounts.http import StaffRequest
from jikimi.accounts.models import Organisation, User
from jikimi.accounts.views import reauth_redirect
from jikimi.audit import services as audit
from jikimi.core.paging import MAX_OFFSET
from jikimi.lib.korean import province_code

from . import services
from .forms import (
    ConsentForm,
    IdentityForm,
    PersonCreateForm,
    PersonEditForm,
    SearchForm,
    ShareForm,
    TrustedContactForm,
)
from .models import ConsentPurpose, IdentityKind, NameKind, Person

PAGE_SIZE = 50


def _attach_errors(form, exc: services.InvalidInput) -> None:
    """Put each service error on its field (or on the form when the field is not in it)."""
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, _(str(message)))


# --- List and search ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def person_list(request: StaffRequest) -> HttpResponse:
    """The list, paged; a search replaces it.

    Searches are POSTed (htmx or plain form), never put in the URL: a name in a query string
    would end up in proxy logs, browser history and Referer headers.
    """
    form = SearchForm(request.POST or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page, total, pages = 1, 0, 1
    rows, close = [], []
    if query:
        try:
            found = services.search_people(request.user, query, limit=PAGE_SIZE)
        except services.InvalidInput as exc:
            _attach_errors(form, exc)
        else:
            # Names one typing error away are listed apart, after the spellings of the name.
            rows = [r for r in found if r.match != "close"]
            close = [r for r in found if r.match == "close"]
    else:
        try:
            # Capped: an offset beyond MAX_OFFSET no database takes (it was a 500).
            page = min(max(1, int(request.GET.get("page", "1"))), MAX_OFFSET // PAGE_SIZE)
        except ValueError:
            page = 1
        rows, total = services.list_people(
            request.user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "form": form,
        "rows": rows,
        "close_rows": close,
        "query": query,
        "page": page,
        "pages": pages,
        "total": total,
        "show_names": request.user.sees_identities,
        "can_edit": accounts.can_edit_people(request.user),
    }
    if request.headers.get("HX-Request"):
        return render(request, "people/_results.html", context)
    return render(request, "people/list.html", context)


# --- Create and edit ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def person_new(request: StaffRequest) -> HttpResponse:
    services.require_editor(request.user)  # AccessDenied → 403
    form = PersonCreateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                person = services.create_person(
                    request.user,
                    name=data["name"],
                    name_kind=data["name_kind"],
                    birth_year=data["birth_year"],
                    sex=data["sex"],
                    province=data["province"],
                    defection_year=data["defection_year"],
                    notes=data["notes"],
                )
            except services.InvalidInput as exc:
                _attach_errors(form, exc)
            else:
                return redirect("people:detail", code=person.code)
        return render(request, "people/new.html", {"form": form}, status=400)
    return render(request, "people/new.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: StaffRequest, code: str) -> HttpResponse:
    person = services.get_person(request.user, code, purpose="edit")
    services.require_editor(request.user)  # AccessDenied → 403
    initial = {f: getattr(person, f) for f in services.PERSON_FIELDS}
    # Older or imported rows may hold a province as typed; offer its canonical code.
    if initial["province"] and not initial["province"].startswith("KP-"):
        initial["province"] = province_code(initial["province"]) or ""
    form = PersonEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_person(request.user, person, **form.cleaned_data)
            except services.InvalidInput as exc:
                _attach_errors(form, exc)
            else:
                return redirect("people:detail", code=person.code)
        return render(request, "people/edit.html", {"form": form, "person": person}, status=400)
    return render(request, "people/edit.html", {"form": form, "person": person})


# --- Detail -------------------------------------------------------------------------------


def _sharing_targets(user: User):
    return Organisation.objects.exclude(pk=user.org_id).order_by("name")


def _detail(
    request: StaffRequest, person: Person, *, status: int = 200, reveal: bool = False, **forms
) -> HttpResponse:
    user = request.user
    owner = person.organisation_id == user.organisation_id
    can_edit = owner and accounts.can_edit_people(user)  # a grant is read-only: no forms
    consents = services.current_consents(person)
    events, actors = [], {}
    if accounts.can_read_audit(user):
        events = list(audit.events_seen_by(request.user, object_ref=person.code, limit=100))
        actors = _actor_names(events)
    context = {
        "person": person,
        "owner": owner,
        "can_edit": can_edit,
        "show_names": user.sees_identities,
        "identities": _labelled(services.identities_of(user, person, reveal_addresses=reveal)),
        "revealed": reveal,
        "consents": [
            (value, label, consents.get(value)) for value, label in ConsentPurpose.choices
        ],
        "contacts": services.trusted_contacts_of(user, person),
        "grants": person.grants.filter(revoked_at__isnull=True).select_related("to_organisation")
        if owner
        else [],
        "sharing_consent": services.has_consent(person, "sharing"),
        "events": [(e, actors.get(e.actor_id, "")) for e in events],
        "can_read_audit": accounts.can_read_audit(user),
        "identity_form": forms.get("identity_form") or IdentityForm(),
        "consent_form": forms.get("consent_form") or ConsentForm(),
        "contact_form": forms.get("contact_form") or TrustedContactForm(),
        "share_form": forms.get("share_form") or ShareForm(organisations=_sharing_targets(user)),
    }
    return render(request, "people/detail.html", context, status=status)


def _labelled(identities: list[dict]) -> list[dict]:
    kinds, name_kinds = dict(IdentityKind.choices), dict(NameKind.choices)
    for row in identities:
        row["kind_label"] = kinds.get(row["kind"], row["kind"])
        row["name_kind_label"] = name_kinds.get(row["name_kind"], "")
    return identities


def _actor_names(events) -> dict[int, str]:
    ids = {e.actor_id for e in events if e.actor_id}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))


@login_required
def person_detail(request: StaffRequest, code: str) -> HttpResponse:
    reveal = request.GET.get("reveal") == "addresses"
    # Seeing an address is a sensitive action: it needs the password again (DESIGN §3).
    if reveal and not accounts.recently_authenticated(request):
        return reauth_redirect(reverse("people:detail", args=[code]) + "?reveal=addresses")
    person = services.get_person(request.user, code)
    return _detail(request, person, reveal=reveal)


def _detail_post(request: StaffRequest, code: str, form_name: str, form, action) -> HttpResponse:
    """Shared shape of the detail page's forms: check the form, call the service, show
    errors on the same page with status 400, or go back to the page. `action` returns the
    confirmation the page shows after the redirect (or nothing)."""
    person = services.get_person(request.user, code, purpose="edit")
    services.require_editor(request.user)  # AccessDenied → 403
    if form.is_valid():
        try:
            done = action(person, form.cleaned_data)
        except services.InvalidInput as exc:
            _attach_errors(form, exc)
        else:
            if done:
                messages.success(request, done)
            return redirect("people:detail", code=person.code)
    return _detail(request, person, status=400, **{form_name: form})


@login_required
@require_POST
def add_identity(request: StaffRequest, code: str) -> HttpResponse:
    def action(person, data):
        services.add_identity(
            request.user,
            person,
            kind=data["kind"],
            value=data["value"],
            name_kind=data["name_kind"] if data["kind"] == "name" else "",
        )
        # The kind, never the value: an address stays hidden until the password is given.
        if data["kind"] == IdentityKind.NAME and data["name_kind"]:
            what = NameKind(data["name_kind"]).label
        else:
            what = IdentityKind(data["kind"]).label
        return _("Saved: %(what)s added to the identities.") % {"what": what}

    return _detail_post(request, code, "identity_form", IdentityForm(request.POST), action)


@login_required
@require_POST
def record_consent(request: StaffRequest, code: str) -> HttpResponse:
    def action(person, data):
        services.record_consent(
            request.user,
            person,
            purpose=data["purpose"],
            granted=data["granted"],
            scope=data["scope"],
            method=data["method"],
        )
        purpose = ConsentPurpose(data["purpose"]).label
        if data["granted"]:
            return _("Saved: consent to “%(purpose)s” given.") % {"purpose": purpose}
        return _("Saved: consent to “%(purpose)s” refused or withdrawn.") % {"purpose": purpose}

    return _detail_post(request, code, "consent_form", ConsentForm(request.POST), action)


@login_required
@require_POST
def add_contact(request: StaffRequest, code: str) -> HttpResponse:
    def action(person, data):
        services.add_trusted_contact(
            request.user,
            person,
            name=data["name"],
            relationship=data["relationship"],
            phone=data["phone"],
            email=data["email"],
            language=data["language"],
        )
        return _("Saved: %(name)s added to the trusted contacts.") % {"name": data["name"]}

    return _detail_post(request, code, "contact_form", TrustedContactForm(request.POST), action)


@login_required
@require_POST
def remove_identity(request: StaffRequest, code: str, identity_id) -> HttpResponse:
    person = services.get_person(request.user, code, purpose="edit")
    services.require_editor(request.user)  # AccessDenied → 403
    services.remove_identity(request.user, person, str(identity_id))
    return redirect("people:detail", code=person.code)


@login_required
@require_POST
def revoke_grant(request: StaffRequest, code: str, grant_id: int) -> HttpResponse:
    person = services.get_person(request.user, code, purpose="edit")
    grant = person.grants.filter(pk=grant_id, revoked_at__isnull=True).first()
    if grant is None or not accounts.can_edit_people(request.user):
        raise Http404
    services.revoke_grant(request.user, grant)
    return redirect("people:detail", code=person.code)


@login_required
@require_POST
def share(request: StaffRequest, code: str) -> HttpResponse:
    def action(person, data):
        services.grant_access(request.user, person, data["organisation"], data["reason"])

    form = ShareForm(request.POST, organisations=_sharing_targets(request.user))
    return _detail_post(request, code, "share_form", form, action)


# --- Administration: the organisation's sharing grants ------------------------------------


@login_required
def admin_grants(request: StaffRequest) -> HttpResponse:
    """For the organisation's administrators (others: 404): every grant it gave and got."""
    ours, theirs = services.organisation_grants(request.user)
    return render(
        request, "people/admin_grants.html", {"ours": ours, "theirs": theirs, "tab": "grants"}
    )
