"""The API's answers to service errors (the parsing side is in `parsers`).

The status comes from `jikimi.core.errors` (the same table the pages use); here it only
takes DRF's shape: `{"detail": …}` for 401/403/404, `{"field": ["message"]}` for 400 — always
an object (the schema's `Error` and `ValidationError`, `jikimi.api.schema`).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from jikimi.core.errors import NON_FIELD, InvalidInput, ServiceError


def _as_api_exception(exc: ServiceError) -> exceptions.APIException:
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError({k: [v] for k, v in exc.messages().items()})
    if exc.status_code == 404:
        return exceptions.NotFound()  # never says which code was asked for, or why
    if exc.status_code == 403:
        return exceptions.PermissionDenied(str(exc) or None)
    return exceptions.ValidationError({NON_FIELD: [str(exc)]})


def exception_handler(exc, context):
    """NotFound → 404 (never 403 for records), AccessDenied → 403, InvalidInput → 400."""
    if isinstance(exc, ServiceError):
        exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        # A ValidationError raised with a message, not a mapping: the request as a whole.
        response.data = {NON_FIELD: response.data}
    elif isinstance(exc, exceptions.ParseError):
        # A body that is no JSON: a 400 like any other, about the request as a whole.
        response.data = {NON_FIELD: [str(exc.detail)]}
    return response


@csrf_exempt  # changes nothing; a POST without a CSRF token must get the same 404
def not_found(request, *args, **kwargs):
    """A path under /api/ that names no operation: the API's 404 body, not the HTML page.

    A path that is one only with a slash at the end is still redirected there, as Django's
    APPEND_SLASH does (it sees this view as a match, so it no longer would)."""
    if settings.APPEND_SLASH and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found and request.method in SAFE:
            path = request.get_full_path(force_append_slash=True)
            return HttpResponsePermanentRedirect(path)
    return JsonResponse({"detail": _("Not found.")}, status=404)


SAFE = ("GET", "HEAD", "OPTIONS")
