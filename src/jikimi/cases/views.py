"""Staff pages for protection cases: my cases (with filters), the case page and its forms.

Thin: access checks and audit are in services. A case this user may not see is NotFound
there and 404 here (ServiceErrorMiddleware), never 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jikimi.accounts import services as accounts
from jikimi.accounts.http import StaffRequest
from jikimi.core.errors import InvalidInput
from jikimi.core.paging import MAX_OFFSET

from . import services
from .models import CaseKind, CaseStatus, ConsentBasis, ContactMethod, Priority

PAGE_SIZE = 50
SUPERVISOR_ROLES = {str(r) for r in services.SUPERVISOR_ROLES}
#: The overview's columns, in order: how long a case has been open.
AGE_LABELS = [
    ("lt1d", _lazy("Under 24 hours")),
    ("1to3d", _lazy("1–3 days")),
    ("3to7d", _lazy("3–7 days")),
    ("7to30d", _lazy("7–30 days")),
    ("gt30d", _lazy("Over 30 days")),
]


@login_required
@require_GET
def case_list(request: StaffRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    try:
        page_no = min(max(1, int(request.GET.get("page", "1"))), MAX_OFFSET // PAGE_SIZE)
    except ValueError:
        page_no = 1
    filters = services.CaseFilter(
        status=status if status in CaseStatus.values else "",
        kind=kind if kind in CaseKind.values else "",
    )
    page = services.my_cases(
        request.user, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE, filters=filters
    )
    pages = max(1, -(-page.total // PAGE_SIZE))
    return render(
        request,
        "cases/list.html",
        {
            "page": page,
            "page_no": page_no,
            "pages": pages,
            "filters": filters,
            "statuses": CaseStatus.choices,
            "kinds": CaseKind.choices,
        },
    )


def _case_context(request: StaffRequest, code: str, **extra) -> dict:
    file = services.case_file(request.user, code)
    user = request.user
    own = file.case.organisation_id == user.org_id
    supervisor = own and user.role in SUPERVISOR_ROLES
    return {
        "file": file,
        "case": file.case,
        "own": own,
        "organisations": services.referral_organisations(user) if own else [],
        "bases": ConsentBasis.choices,
        "policies": services.escalation_policies(user) if supervisor else None,
        # Changing an escalation policy asks for the password again (DESIGN §3).
        "ask_password": supervisor and not accounts.recently_authenticated(request),
        "statuses": [c for c in CaseStatus.choices if c[0] != file.case.status],
        "methods": ContactMethod.choices,
        "errors": {},
        "values": {},
        **extra,
    }


@login_required
@require_GET
def case_page(request: StaffRequest, code: str) -> HttpResponse:
    return render(request, "cases/case.html", _case_context(request, code))


def _refused(request: StaffRequest, code: str, exc: InvalidInput, form: str) -> HttpResponse:
    context = _case_context(
        request, code, errors={form: exc.messages()}, values={form: request.POST}
    )
    return render(request, "cases/case.html", context, status=400)


@login_required
@require_POST
def change_status(request: StaffRequest, code: str) -> HttpResponse:
    try:
        result = services.change_status(
            request.user,
            code,
            status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
            expected_version=request.POST.get("version") or None,
        )
    except InvalidInput as exc:
        return _refused(request, code, exc, "status")
    except services.VersionConflict as exc:
        messages.error(request, str(exc))
        return redirect("cases:case", code=code)
    messages.success(request, _("Status changed."))
    for deadline in result.deadlines:
        messages.warning(
            request,
            _("A review deadline was set: %(label)s.") % {"label": _(deadline.label)},
        )
    return redirect("cases:case", code=code)


@login_required
@require_POST
def log_contact(request: StaffRequest, code: str) -> HttpResponse:
    try:
        services.log_family_contact(
            request.user,
            code,
            how=request.POST.get("how", ""),
            what_was_told=request.POST.get("what_was_told", ""),
            can_be_told=request.POST.get("can_be_told", ""),
            next_contact_at=request.POST.get("next_contact_at") or None,
        )
    except InvalidInput as exc:
        return _refused(request, code, exc, "contact")
    messages.success(request, _("Family contact recorded."))
    return redirect("cases:case", code=code)


#: The kind a case opened from an act proposes (the form can change it).
KIND_FOR_ACT = {
    "arrest": CaseKind.DETAINED,
    "forced_repatriation": CaseKind.REPATRIATED,
    "abduction": CaseKind.ABDUCTED,
    "disappearance": CaseKind.MISSING,
    "claimed_voluntary_return": CaseKind.RETURNED,
    "nk_media_appearance": CaseKind.RETURNED,
}
#: ... and the first status.
STATUS_FOR_ACT = {"arrest": CaseStatus.DETAINED, "forced_repatriation": CaseStatus.REPATRIATED}


@login_required
@require_http_methods(["GET", "POST"])
def open_case(request: StaffRequest) -> HttpResponse:
    """Open a case for a person: from the person's page (`?person=`), from an act of an
    incident (`?person=&event=&act_type=`: the kind and first status follow the act, the
    event is the case's source), or typed in."""
    source = request.GET if request.method == "GET" else request.POST
    act_type = source.get("act_type", "")
    values: dict[str, str] = {
        "person": source.get("person", ""),
        "kind": source.get("kind") or str(KIND_FOR_ACT.get(act_type, "")),
        "status": source.get("status") or str(STATUS_FOR_ACT.get(act_type, CaseStatus.REPORTED)),
        "priority": source.get("priority", ""),
        "notes": source.get("notes", ""),
        "reason": source.get("reason", ""),
        "source_ref": source.get("source_ref", "")
        or (f"incident {source['event']}" if source.get("event") else ""),
    }
    errors: dict = {}
    if request.method == "POST":
        try:
            case = services.open_case(
                request.user,
                values["person"],
                kind=values["kind"],
                status=values["status"],
                priority=values["priority"] or Priority.HIGH,
                notes=values["notes"],
                reason=values["reason"],
                source_ref=values["source_ref"],
            )
        except InvalidInput as exc:
            errors = exc.messages()
            # The page offers labels, not the codes the service's message lists.
            if "kind" in errors:
                errors["kind"] = _("Choose the kind of case.")
            if not values["person"].strip():
                errors["person"] = _("Enter the person's code.")
        else:
            messages.success(request, _("Case opened."))
            return redirect("cases:case", code=case.code)
    return render(
        request,
        "cases/new.html",
        {
            "values": values,
            "errors": errors,
            "kinds": CaseKind.choices,
            "statuses": [c for c in CaseStatus.choices if c[0] != CaseStatus.CLOSED],
            "priorities": Priority.choices,
        },
        status=400 if errors else 200,
    )


# --- Referrals ------------------------------------------------------------------------------


@login_required
@require_POST
def refer(request: StaffRequest, code: str) -> HttpResponse:
    """Refer the case to another organisation: on the person's or the family's recorded
    consent at once, else as an override a supervisor approves first."""
    try:
        referral = services.propose_referral(
            request.user,
            code,
            to_organisation=request.POST.get("to_organisation", ""),
            consent_basis=request.POST.get("consent_basis", ""),
            consent_note=request.POST.get("consent_note", ""),
            override_reason=request.POST.get("override_reason", ""),
        )
    except InvalidInput as exc:
        return _refused(request, code, exc, "referral")
    if referral.consent_basis == ConsentBasis.OVERRIDE:
        messages.warning(
            request, _("Referral proposed: a supervisor must approve the override first.")
        )
    else:
        messages.success(request, _("Referral sent: the other organisation can accept it."))
    return redirect("cases:case", code=code)


@login_required
@require_POST
def set_policy(request: StaffRequest, code: str) -> HttpResponse:
    if not accounts.recently_authenticated(request):
        try:
            accounts.reauthenticate(request, request.POST.get("password", ""))
        except accounts.LoginFailed as exc:
            refusal = (
                _("This account is locked after too many failed attempts. Try again later.")
                if exc.reason == "locked"
                else _("Enter your password again to change an escalation policy.")
            )
            return _refused(request, code, InvalidInput({"password": refusal}), "policy")
    try:
        services.set_case_policy(request.user, code, request.POST.get("escalation_policy", ""))
    except InvalidInput as exc:
        return _refused(request, code, exc, "policy")
    messages.success(request, _("Escalation policy saved."))
    return redirect("cases:case", code=code)


def _referrals_context(request: StaffRequest, **extra) -> dict:
    user = request.user
    return {
        "incoming": services.incoming_referrals(user),
        "outgoing": services.outgoing_referrals(user),
        "to_approve": (
            services.overrides_to_approve(user) if user.role in SUPERVISOR_ROLES else None
        ),
        "error_code": "",
        "errors": {},
        "values": {},
        **extra,
    }


@login_required
@require_GET
def referrals(request: StaffRequest) -> HttpResponse:
    return render(request, "cases/referrals.html", _referrals_context(request))


@login_required
@require_POST
def decide_referral(request: StaffRequest, referral: str, decision: str) -> HttpResponse:
    """Approve an override (the sender's supervisor), accept or decline (the receiver)."""
    if decision not in ("approve", "accept", "decline"):
        raise Http404(decision)
    reason = request.POST.get("reason", "")
    try:
        if decision == "approve":
            services.approve_override(request.user, referral)
            messages.success(request, _("Override approved: the other organisation can decide."))
        elif decision == "accept":
            done = services.accept_referral(request.user, referral, reason=reason)
            messages.success(request, _("Referral accepted: the case is now visible to you."))
            return redirect("cases:case", code=done.case.code)
        else:
            services.decline_referral(request.user, referral, reason=reason)
            messages.success(request, _("Referral declined: nothing was shared."))
    except InvalidInput as exc:
        context = _referrals_context(
            request, error_code=referral, errors=exc.messages(), values=request.POST
        )
        return render(request, "cases/referrals.html", context, status=400)
    return redirect("cases:referrals")


# --- The supervisor's overview ---------------------------------------------------------------


@login_required
@require_GET
def overview(request: StaffRequest) -> HttpResponse:
    """Every open case by status × age, each count a link to the list below filtered by it."""
    status = request.GET.get("status", "")
    age = request.GET.get("age", "")
    try:
        page_no = min(max(1, int(request.GET.get("page", "1"))), MAX_OFFSET // PAGE_SIZE)
    except ValueError:
        page_no = 1
    filters = services.CaseFilter(status=status if status in CaseStatus.values else "")
    age = age if age in services.AGE_CODES else ""
    result = services.supervisor_overview(
        request.user,
        offset=(page_no - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        filters=filters,
        age=age,
    )
    labels = dict(CaseStatus.choices)
    return render(
        request,
        "cases/overview.html",
        {
            "overview": result,
            "rows": [
                {
                    "status": row["status"],
                    "label": labels.get(row["status"], row["status"]),
                    "total": row["total"],
                    "cells": [(code, row[code]) for code in services.AGE_CODES],
                }
                for row in result.by_age
            ],
            "totals": [(code, result.age_totals.get(code, 0)) for code in services.AGE_CODES],
            "total": result.age_totals.get("total", 0),
            "ages": AGE_LABELS,
            "age": age,
            "status": filters.status,
            "status_label": labels.get(filters.status, ""),
            "age_label": dict(AGE_LABELS).get(age, ""),
            "page": result.page,
            "page_no": page_no,
            "pages": max(1, -(-result.page.total // PAGE_SIZE)),
        },
    )


# --- Escalation policy by kind of case ------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def kind_policies(request: StaffRequest) -> HttpResponse:
    """Supervisors and admins: the escalation policy each kind of case's deadline alerts
    climb, and the form that changes them (all or nothing). Changing a policy is a sensitive
    action (DESIGN §3): without a recent re-authentication the form asks for the password."""
    user = request.user
    rows = services.kind_policy_rows(user)  # AccessDenied (403) for other roles
    values = {row.kind: str(row.policy_id or "") for row in rows}
    errors: dict[str, str] = {}
    fresh = accounts.recently_authenticated(request)
    if request.method == "POST":
        values = {row.kind: request.POST.get(f"policy_{row.kind}", "") for row in rows}
        if not fresh:
            try:
                accounts.reauthenticate(request, request.POST.get("password", ""))
            except accounts.LoginFailed as exc:
                errors["password"] = (
                    _("This account is locked after too many failed attempts. Try again later.")
                    if exc.reason == "locked"
                    else _("Enter your password again to change an escalation policy.")
                )
            else:
                fresh = True
        if not errors:
            try:
                changed = services.set_kind_policies(user, values)
            except InvalidInput as exc:
                errors = exc.messages()
            else:
                if changed:
                    messages.success(request, _("Escalation policies saved."))
                else:
                    messages.info(request, _("Nothing changed."))
                return redirect("cases:kind_policies")
    return render(
        request,
        "cases/kind_policies.html",
        {
            "rows": [
                {
                    "kind": row.kind,
                    "label": row.label,
                    "value": values.get(row.kind, ""),
                    "error": errors.get(row.kind, ""),
                }
                for row in rows
            ],
            "policies": [(str(p.pk), p.display_name) for p in services.escalation_policies(user)],
            "password_error": errors.get("password", ""),
            "ask_password": not fresh,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
