"""The alert board and one alert's page (thin: services check access and audit)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jikimi.core.redirects import redirect_next
from jikimi.people.services import InvalidInput

from . import services

# Log-in required. Service errors (NotFound → 404, AccessDenied → 403) are answered by
# jikimi.core.errors.ServiceErrorMiddleware, like on every page.
staff_view = login_required


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
    # Back to the alert's page (the form sends its path), never off-site (issue 12.4).
    return redirect_next(request, reverse("alerts:board"))
