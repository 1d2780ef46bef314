"""The alert board and one alert's page (thin: services check access and audit)."""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jikimi.accounts.services import AccessDenied
from jikimi.people.services import InvalidInput, NotFound

from . import services


def staff_view(view):
    """Log-in required; NotFound → 404 (never 403 for records), AccessDenied → 403."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None
        except AccessDenied:
            raise PermissionDenied() from None

    return wrapper


@staff_view
def board(request):
    """The live board: the highest priority first, then the oldest. Refreshed by board.js."""
    alerts = services.alert_board(request.user)
    template = "alerts/_board_rows.html" if request.GET.get("fragment") else "alerts/board.html"
    return render(request, template, {"alerts": alerts})


@staff_view
def alert_detail(request, alert_id: int):
    alert = services.get_alert(request.user, alert_id)
    return render(
        request,
        "alerts/alert.html",
        {"alert": alert, "tasks": services.tasks_of(request.user, alert)},
    )


@staff_view
@require_POST
def alert_ack(request, alert_id: int):
    services.acknowledge(request.user, services.get_alert(request.user, alert_id))
    return redirect("alerts:alert", alert_id=alert_id)


@staff_view
@require_POST
def alert_close(request, alert_id: int):
    alert = services.get_alert(request.user, alert_id)
    try:
        services.close(request.user, alert, reason=request.POST.get("reason", ""))
    except InvalidInput:
        messages.error(request, _("Closing an alert needs a reason."))
    return redirect("alerts:alert", alert_id=alert_id)


@staff_view
@require_POST
def task_done(request, task_id: int):
    services.complete_task(request.user, task_id)
    target = request.POST.get("next", "")
    # Only back to a page of this site (the form sends the alert's path).
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("alerts:board")
