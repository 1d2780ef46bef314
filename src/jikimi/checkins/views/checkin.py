"""The person's check-in page: GET shows a PIN pad and changes nothing; POST checks in.

Every POST gets the same response — same template, same context, same headers — whether
the PIN was right, the duress PIN, wrong, rate-limited, or the link unknown. The context
depends only on what the person submitted (which action), never on the outcome.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .. import services

ACTIONS = {
    services.PersonAction.CHECKIN,
    services.PersonAction.PAUSE,
    services.PersonAction.WITHDRAW,
}


def _no_store(response):
    # A shared or seized phone must not show a cached page from the history.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def checkin(request, token: str):
    if request.method == "GET":
        return _no_store(render(request, "checkins/checkin_pad.html", {"token": token}))
    action = request.POST.get("action", services.PersonAction.CHECKIN)
    if action not in ACTIONS:
        action = services.PersonAction.CHECKIN
    try:
        days = max(1, min(int(request.POST.get("pause_days") or 1), services.MAX_PAUSE_DAYS))
    except ValueError:
        days = 1
    services.record_checkin(
        None,
        request.POST.get("pin", "")[:32],
        token=token,
        channel="web",
        ip=request.META.get("REMOTE_ADDR", ""),
        action=action,
        pause_days=days,
    )
    return _no_store(
        render(request, "checkins/checkin_done.html", {"action": action, "pause_days": days})
    )
