"""Thin views: one module per page or hook; the logic is in services.py."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from jikimi.accounts.services import AccessDenied
from jikimi.people.services import NotFound


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
