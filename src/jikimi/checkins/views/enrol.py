"""Enrol a consenting person: schedule, grace, channels, escalation policy."""

from __future__ import annotations

from django.shortcuts import render

from jikimi.accounts import services as accounts
from jikimi.people import services as people
from jikimi.people.services import InvalidInput

from .. import services
from ..forms import EnrolForm
from ..models import EnrolmentStatus
from . import staff_view


@staff_view
def enrol(request, code: str):
    person = people.get_person(request.user, code, purpose="checkin_enrol")
    policies = list(services.policies_for(request.user))
    default = services.default_policy(request.user.organisation)
    # The organisation's time zone (its administrators' setting) unless another is typed.
    zone = accounts.time_zone_of(request.user.organisation_id)
    form = EnrolForm(
        request.POST or None,
        policies=policies,
        initial={"policy": str(default.pk), "timezone": zone},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = services.enrol(
                    request.user,
                    person,
                    policy=next((p for p in policies if str(p.pk) == d["policy"]), None),
                    interval_hours=d["interval_hours"],
                    weekly_slots=form.weekly_slot_list() or None,
                    tz=d["timezone"].strip() or zone,
                    grace_minutes=d["grace_minutes"],
                    channels=d["channels"] or ["web"],
                    phone=d["phone"],
                    email=d["email"],
                    is_drill=d["is_drill"],
                    language=d["language"] or "ko",
                )
            except InvalidInput as exc:
                form.attach(exc.messages())
            else:
                return render(
                    request,
                    "checkins/setup_link.html",
                    {
                        "enrolment": result.enrolment,
                        "link": request.build_absolute_uri(result.setup_path),
                    },
                )
        status = 400
    live = [
        e
        for e in services.enrolments_of(request.user, person)
        if e.status != EnrolmentStatus.WITHDRAWN
    ]
    context = {
        "person": person,
        "form": form,
        "name": people.display_names(request.user, [person]).get(person.pk),
        "consented": people.has_consent(person, "checkins"),
        "enrolments": live,
    }
    return render(request, "checkins/enrol.html", context, status=status)
