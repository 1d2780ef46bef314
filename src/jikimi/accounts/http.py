"""The request type of a staff view: behind `login_required` and the verified-staff
middleware, `request.user` is a `User`, never `AnonymousUser`. Annotating views with it tells
mypy so (django-stubs' documented pattern); it changes nothing at run time."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import User


class StaffRequest(HttpRequest):
    user: User


def is_verified(user: Any) -> bool:
    """Whether `user` passed both factors in this request. django-otp's OTPMiddleware gives
    every request's user an `is_verified()`; a user object without it (one a test or another
    authentication built) has not."""
    check = getattr(user, "is_verified", None)
    return bool(user is not None and user.is_authenticated and check is not None and check())
