"""An enrolment's check-in timeline, with pause, resume, withdraw and a new set-up link."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jikimi.accounts import services as accounts
from jikimi.accounts.views import reauth_redirect
from jikimi.people.services import InvalidInput

from .. import services
from . import staff_view


@staff_view
def timeline(request, enrolment_id):
    enrolment = services.get_enrolment(request.user, enrolment_id)
    return render(
        request,
        "checkins/timeline.html",
        {
            "enrolment": enrolment,
            "entries": services.timeline(request.user, enrolment),
            "policies": services.policies_for(request.user),
        },
    )


@staff_view
@require_POST
def enrolment_action(request, enrolment_id, action: str):
    enrolment = services.get_enrolment(request.user, enrolment_id)
    reason = request.POST.get("reason", "")
    if action == "policy" and not accounts.recently_authenticated(request):
        # Changing the escalation policy needs the password again (DESIGN §3); the form
        # is on the timeline, so come back there and submit it again.
        return reauth_redirect(reverse("checkins:timeline", args=[enrolment.pk]))
    try:
        if action == "pause":
            day = datetime.strptime(request.POST.get("until", ""), "%Y-%m-%d").date()
            until = timezone.make_aware(datetime.combine(day, time(9, 0)))
            services.pause(request.user, enrolment, until=until, reason=reason)
        elif action == "resume":
            services.resume(request.user, enrolment)
        elif action == "withdraw":
            services.withdraw(request.user, enrolment, reason=reason)
        elif action == "policy":
            policy = services.get_policy(request.user, request.POST.get("policy"))
            services.change_enrolment_policy(request.user, enrolment, policy)
            messages.success(request, _("The escalation policy was changed."))
        elif action == "setup-link":
            token = services.reissue_setup_link(request.user, enrolment)
            return render(
                request,
                "checkins/setup_link.html",
                {"enrolment": enrolment, "link": request.build_absolute_uri(f"/c/setup/{token}")},
            )
    except InvalidInput as exc:
        messages.error(request, "; ".join(exc.errors.values()))
    except ValueError:
        messages.error(request, _("Give a date."))
    return redirect("checkins:timeline", enrolment_id=enrolment.pk)
