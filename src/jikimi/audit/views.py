"""The audit page for auditors and administrators: recent events and a chain check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User

from . import services

LIMIT = 200


@login_required
@require_http_methods(["GET", "POST"])
def audit_index(request: HttpRequest) -> HttpResponse:
    """GET lists events; POST (the "verify" button) also checks the whole hash chain."""
    user = request.user
    assert isinstance(user, User)  # login_required
    if not accounts.can_read_audit(user):
        raise Http404  # like any object the user may not see
    action_prefix = request.GET.get("action", "").strip()[:64]
    ref = request.GET.get("ref", "").strip()[:64]
    if ref.upper().startswith("P-"):  # person codes are stored upper case
        ref = ref.upper()
    events = list(
        services.events_seen_by(user, object_ref=ref, action_prefix=action_prefix, limit=LIMIT)
    )
    names = dict(
        User.objects.filter(pk__in={e.actor_id for e in events if e.actor_id}).values_list(
            "pk", "username"
        )
    )
    verified, problem = False, None
    if request.method == "POST":
        problem, verified = services.verify_chain(), True
        services.record("audit.verify", actor=user, detail={"intact": problem is None})
    services.record(
        "audit.view",
        actor=user,
        # What was typed into the filter is not logged unless it is a code: it may be a name.
        detail={"action_prefix": action_prefix[:32], "ref": services.safe_ref(ref)},
    )
    return render(
        request,
        "audit/index.html",
        {
            "events": [(e, names.get(e.actor_id, "")) for e in events],
            "action_prefix": action_prefix,
            "ref": ref,
            "verified": verified,
            "problem": problem,
        },
    )
