"""The API's answers to service errors (the parsing side is in `parsers`).

The status comes from `jikimi.core.errors` (the same table the pages use); here it only
takes DRF's shape: `{"detail": …}` for 403/404, `{"field": ["message"]}` for 400.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from jikimi.core.errors import InvalidInput, ServiceError


def _as_api_exception(exc: ServiceError) -> exceptions.APIException:
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError({k: [v] for k, v in exc.messages().items()})
    if exc.status_code == 404:
        return exceptions.NotFound()  # never says which code was asked for, or why
    if exc.status_code == 403:
        return exceptions.PermissionDenied(str(exc) or None)
    return exceptions.ValidationError(str(exc))


def exception_handler(exc, context):
    """NotFound → 404 (never 403 for records), AccessDenied → 403, InvalidInput → 400."""
    if isinstance(exc, ServiceError):
        exc = _as_api_exception(exc)
    return drf_exception_handler(exc, context)
