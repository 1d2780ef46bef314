from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from jikimi.accounts.services import AccessDenied
from jikimi.people.services import InvalidInput, NotFound


def exception_handler(exc, context):
    """Map service exceptions: NotFound → 404 (never 403 for records), InvalidInput → 400."""
    if isinstance(exc, NotFound):
        exc = Http404()
    elif isinstance(exc, InvalidInput):
        exc = exceptions.ValidationError(exc.errors)
    elif isinstance(exc, AccessDenied):
        exc = exceptions.PermissionDenied(str(exc))
    return drf_exception_handler(exc, context)
