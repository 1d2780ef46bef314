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
from django.views.decorators.http import require_GET, require_POST

from jikimi.accounts.http import StaffRequest
from jikimi.core.errors import InvalidInput
from jikimi.core.paging import MAX_OFFSET

from . import services
from .models import CaseKind, CaseStatus, ContactMethod

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
