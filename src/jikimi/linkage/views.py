"""Staff pages for linkage: the review queue, the side-by-side view, a person's cluster.

Thin: access checks, decisions and audit rows are in linkage.services. A pair or link with a
person the user may not see is NotFound there and 404 here; a role that may not review gets
403 (an action, not an object).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jikimi.accounts.http import StaffRequest
from jikimi.people import services as people

from . import services, spec

PAGE_SIZE = 50


def _field_label(field: str) -> str:
    """A comparison's label from the spec (the one definition of the levels), translated."""
    found = spec.BY_NAME.get(field)
    return _(found.label) if found else field


def _level_label(field: str, level: str) -> str:
    return _(spec.label(field, level))


def _errors(exc: people.InvalidInput) -> str:
    # A message is an English template (translated here) or already a lazy translation.
    return "; ".join(
        _(message) if isinstance(message, str) else str(message) for message in exc.errors.values()
    )


def _levels(levels: dict[str, str]) -> list[dict]:
    return [
        {
            "field": _field_label(field),
            "level": level,
            "label": _level_label(field, level),
        }
        for field, level in levels.items()
    ]


@login_required
@require_GET
def review_list(request: StaffRequest) -> HttpResponse:
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    items, total = services.review_queue(
        request.user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    names = request.user.sees_identities
    rows = [
        {
            "item": item,
            "left": item.person_a,
            "right": item.person_b,
            "left_name": item.person_a.display_name if names else None,
            "right_name": item.person_b.display_name if names else None,
            # Annotations of the queue's query (services.review_queue).
            "urgent": bool(getattr(item, "urgent", False)),
            "left_alert": getattr(item, "a_alert", None),
            "right_alert": getattr(item, "b_alert", None),
            "levels": _levels(item.levels),
        }
        for item in items
    ]
    return render(
        request,
        "linkage/review_list.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "show_names": names,
        },
    )


def _pair_page(request: StaffRequest, item, *, status: int = 200, error: str = "") -> HttpResponse:
    view = services.pair_view(request.user, item)
    context = {
        "pair": view,
        "item": item,
        "levels": [
            {
                "field": _field_label(f),
                "level": level,
                "label": _level_label(f, level),
                "bits": bits,
                "frequency": view.frequencies.get(f),
            }
            for f, level, bits in view.levels
        ],
        "show_names": request.user.sees_identities,
        "can_decide": request.user.role in services.DECIDE_ROLES,
        "error": error,
    }
    return render(request, "linkage/review_detail.html", context, status=status)


@login_required
@require_GET
def review_detail(request: StaffRequest, item_id) -> HttpResponse:
    return _pair_page(request, services.get_review_item(request.user, item_id))


@login_required
@require_POST
def review_confirm(request: StaffRequest, item_id) -> HttpResponse:
    item = services.get_review_item(request.user, item_id)
    try:
        services.confirm(request.user, item, reason=request.POST.get("reason", ""))
    except people.InvalidInput as exc:
        return _pair_page(request, item, status=400, error=_errors(exc))
    messages.success(request, _("Linked as the same person."))
    return redirect("linkage:review")


@login_required
@require_POST
def review_reject(request: StaffRequest, item_id) -> HttpResponse:
    item = services.get_review_item(request.user, item_id)
    try:
        services.reject(request.user, item)
    except people.InvalidInput as exc:
        return _pair_page(request, item, status=400, error=_errors(exc))
    messages.success(request, _("Marked as different people."))
    return redirect("linkage:review")


def _cluster_page(request: StaffRequest, code: str, *, status: int = 200, error: str = ""):
    person = people.get_person(request.user, code, purpose="linkage")
    members = services.cluster_of(request.user, person)
    context = {
        "person": person,
        "members": members,
        "show_names": request.user.sees_identities,
        "can_decide": request.user.role in services.DECIDE_ROLES,
        "error": error,
    }
    return render(request, "linkage/cluster.html", context, status=status)


@login_required
@require_GET
def cluster(request: StaffRequest, code: str) -> HttpResponse:
    return _cluster_page(request, code)


@login_required
@require_POST
def unlink(request: StaffRequest, link_id) -> HttpResponse:
    link = services.get_link(request.user, link_id)
    back = request.POST.get("from", "")
    if back not in (link.person_a.code, link.person_b.code):
        back = link.person_a.code
    try:
        services.unlink(request.user, link, reason=request.POST.get("reason", ""))
    except people.InvalidInput as exc:
        return _cluster_page(request, back, status=400, error=_errors(exc))
    messages.success(request, _("The link was undone."))
    return redirect("linkage:cluster", code=back)
