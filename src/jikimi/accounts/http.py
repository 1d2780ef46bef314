"""The request type of a staff view: behind `login_required` and the verified-staff
middleware, `request.user` is a `User`, never `AnonymousUser`. Annotating views with it tells
mypy so (django-stubs' documented pattern); it changes nothing at run time."""

from __future__ import annotations

from django.http import HttpRequest

from .models import User


class StaffRequest(HttpRequest):
    user: User
