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
from jikimi.people import services as people
from jikimi.people.services import InvalidInput

from .. import services
from ..forms import OTHER_LABELS, PauseForm, WithdrawForm
from . import staff_view


def _render(request, enrolment, *, pause_form=None, withdraw_form=None, status=200):
    return render(
        request,
        "checkins/timeline.html",
        {
            "enrolment": enrolment,
            "name": people.display_names(request.user, [enrolment.person]).get(enrolment.person_id),
            "entries": services.timeline(request.user, enrolment),
            "policies": services.policies_for(request.user),
            "pause_form": pause_form or PauseForm(prefix="pause"),
            "withdraw_form": withdraw_form or WithdrawForm(prefix="withdraw"),
        },
        status=status,
    )


@staff_view
def timeline(request, enrolment_id):
    return _render(request, services.get_enrolment(request.user, enrolment_id))


@staff_view
@require_POST
def enrolment_action(request, enrolment_id, action: str):
    enrolment = services.get_enrolment(request.user, enrolment_id)
    if action == "policy" and not accounts.recently_authenticated(request):
        # Changing the escalation policy needs the password again (DESIGN §3); the form
        # is on the timeline, so come back there and submit it again.
        return reauth_redirect(reverse("checkins:timeline", args=[enrolment.pk]))
    try:
        if action == "pause":
            form = PauseForm(request.POST, prefix="pause")
            if not form.is_valid():
                return _render(request, enrolment, pause_form=form, status=400)
            until = timezone.make_aware(datetime.combine(form.cleaned_data["until"], time(9, 0)))
            try:
                services.pause(
                    request.user, enrolment, until=until, reason=form.cleaned_data["reason"]
                )
            except InvalidInput as exc:
                form.attach(exc.messages())
                return _render(request, enrolment, pause_form=form, status=400)
            messages.success(request, _("Check-ins are paused."))
        elif action == "resume":
            services.resume(request.user, enrolment)
            messages.success(request, _("Check-ins resumed."))
        elif action == "withdraw":
            withdraw_form = WithdrawForm(request.POST, prefix="withdraw")
            if not withdraw_form.is_valid():
                return _render(request, enrolment, withdraw_form=withdraw_form, status=400)
            services.withdraw(request.user, enrolment, reason=withdraw_form.cleaned_data["reason"])
            messages.success(request, _("Check-ins stopped: consent withdrawn."))
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
        for key, message in exc.messages().items():
            messages.error(request, f"{OTHER_LABELS.get(key, key)}: {message}")
    return redirect("checkins:timeline", enrolment_id=enrolment.pk)
