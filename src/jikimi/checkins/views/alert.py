"""One alert: see it, acknowledge it, close it (closing needs a reason)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jikimi.core.redirects import redirect_next
from jikimi.people.services import InvalidInput

from .. import services
from . import staff_view


@staff_view
def alert_detail(request, alert_id: int):
    alert = services.get_alert(request.user, alert_id)
    return render(request, "checkins/alert.html", {"alert": alert, "tasks": alert.tasks.all()})


@staff_view
@require_POST
def alert_ack(request, alert_id: int):
    services.acknowledge(request.user, services.get_alert(request.user, alert_id))
    return redirect("checkins:alert", alert_id=alert_id)


@staff_view
@require_POST
def alert_close(request, alert_id: int):
    alert = services.get_alert(request.user, alert_id)
    try:
        services.close(request.user, alert, reason=request.POST.get("reason", ""))
    except InvalidInput:
        messages.error(request, _("Closing an alert needs a reason."))
    return redirect("checkins:alert", alert_id=alert_id)


@staff_view
@require_POST
def task_done(request, task_id: int):
    services.complete_task(request.user, task_id)
    return redirect_next(request, reverse("checkins:board"))
