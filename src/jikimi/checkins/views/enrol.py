"""Enrol a consenting person: schedule, grace, channels, escalation policy."""

from __future__ import annotations

from django.shortcuts import render

from jikimi.accounts import services as accounts
from jikimi.people import services as people
from jikimi.people.services import InvalidInput

from .. import services
from . import staff_view


def _slots(text: str) -> list:
    """ "0 09:00, 3 18:30" → [[0, "09:00"], [3, "18:30"]]."""
    slots = []
    for part in text.split(","):
        if part.strip():
            weekday, _, hhmm = part.strip().partition(" ")
            slots.append([weekday, hhmm.strip()])
    return slots


@staff_view
def enrol(request, code: str):
    person = people.get_person(request.user, code, purpose="checkin_enrol")
    policies = services.policies_for(request.user)
    context = {
        "person": person,
        "policies": policies,
        "errors": {},
        "form": request.POST,
        # The organisation's time zone (its administrators' setting) unless one is typed.
        "default_timezone": accounts.time_zone_of(request.user.organisation_id),
    }
    if request.method == "POST":
        data = request.POST
        try:
            policy = policies.filter(pk=data.get("policy") or 0).first()
            interval = int(data["interval_hours"]) if data.get("interval_hours") else None
            result = services.enrol(
                request.user,
                person,
                policy=policy,
                interval_hours=interval,
                weekly_slots=_slots(data.get("weekly_slots", "")) or None,
                tz=data.get("timezone") or accounts.time_zone_of(request.user.organisation_id),
                grace_minutes=int(data.get("grace_minutes") or 60),
                channels=data.getlist("channels") or ["web"],
                phone=data.get("phone", ""),
                email=data.get("email", ""),
                is_drill=bool(data.get("is_drill")),
                language=data.get("language") or "ko",
            )
        except InvalidInput as exc:
            context["errors"] = exc.errors
            return render(request, "checkins/enrol.html", context, status=400)
        except ValueError:
            context["errors"] = {"form": "numbers expected"}
            return render(request, "checkins/enrol.html", context, status=400)
        return render(
            request,
            "checkins/setup_link.html",
            {"enrolment": result.enrolment, "link": request.build_absolute_uri(result.setup_path)},
        )
    return render(request, "checkins/enrol.html", context)
