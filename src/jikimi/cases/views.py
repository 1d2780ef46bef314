"""Staff pages for protection cases: my cases (with filters), the case page and its forms.

Thin: access checks and audit are in services. A case this user may not see is NotFound
there and 404 here (ServiceErrorMiddleware), never 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jikimi.accounts.http import StaffRequest
from jikimi.core.errors import InvalidInput
from jikimi.core.paging import MAX_OFFSET

from . import services
from .models import CaseKind, CaseStatus, ContactMethod, Priority

PAGE_SIZE = 50


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
    return {
        "file": file,
        "case": file.case,
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
