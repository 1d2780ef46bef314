"""The one-time link through which the person sets PIN and duress PIN."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from jikimi.people.services import InvalidInput, NotFound

from .. import services
from .checkin import _no_store


@require_http_methods(["GET", "POST"])
def setup(request, token: str):
    enrolment = services.enrolment_for_setup(token)
    if enrolment is None:
        return _no_store(render(request, "checkins/setup_invalid.html", status=404))
    if request.method == "GET":
        return _no_store(render(request, "checkins/setup.html", {"errors": {}}))
    try:
        checkin_token = services.set_pins(
            token, request.POST.get("pin", ""), request.POST.get("duress_pin", "")
        )
    except InvalidInput as exc:
        # Shown under each field, in the request's language, each naming its field's label.
        return _no_store(
            render(request, "checkins/setup.html", {"errors": exc.messages()}, status=400)
        )
    except NotFound:
        return _no_store(render(request, "checkins/setup_invalid.html", status=404))
    link = request.build_absolute_uri(f"/c/{checkin_token}")
    return _no_store(
        render(request, "checkins/setup_done.html", {"link": link, "drill": enrolment.is_drill})
    )
