"""The audit page for auditors and administrators: the log, filtered and in pages, and a
chain check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User

from . import services
from .forms import AuditFilterForm

FILTER_FIELDS = ("actor", "action", "ref", "date_from", "date_to")


def _page_number(value: str) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@login_required
@require_http_methods(["GET", "POST"])
def audit_index(request: HttpRequest) -> HttpResponse:
    """GET lists events; POST (the "verify" button) also checks the whole hash chain."""
    user = request.user
    assert isinstance(user, User)  # login_required
    if not accounts.can_read_audit(user):
        raise Http404  # like any object the user may not see
    staff = list(
        User.objects.filter(organisation_id=user.org_id)
        .order_by("username")
        .values_list("pk", "username")
    )
    submitted = any(request.GET.get(name) for name in FILTER_FIELDS)
    form = AuditFilterForm(request.GET if submitted else None, actors=staff)
    refused = submitted and not form.is_valid()
    # A refused filter filters nothing: the auditor sees the whole log and what was wrong.
    flt = form.event_filter() if submitted and not refused else services.EventFilter()
    page = services.event_page(user, flt, _page_number(request.GET.get("page", "")))
    names = dict(staff)
    verified, problem = False, None
    if request.method == "POST":
        problem, verified = services.verify_chain(), True
        services.record("audit.verify", actor=user, detail={"intact": problem is None})
    services.record(
        "audit.view",
        actor=user,
        # What was typed into the filter is not logged unless it is a code: it may be a name.
        detail={
            "action_prefix": flt.action[:32],
            "ref": services.safe_ref(request.GET.get("ref", "").strip()[:64])
            if refused
            else flt.object_ref,
            "actor": flt.actor,
            "from": request.GET.get("date_from", "")[:10] if not refused else "",
            "to": request.GET.get("date_to", "")[:10] if not refused else "",
            "page": page.number,
        },
    )
    query = request.GET.copy()
    query.pop("page", None)
    if refused:
        query = query.__class__(mutable=True)
    return render(
        request,
        "audit/index.html",
        {
            "form": form,
            "refused": refused,
            "filtered": submitted and not refused,
            "page": page,
            "events": [(e, names.get(e.actor_id or 0, "")) for e in page.events],
            "query": query.urlencode(),
            "verified": verified,
            "problem": problem,
        },
        status=400 if refused else 200,
    )
