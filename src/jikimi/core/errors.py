"""The errors every service raises, and the one table that turns them into HTTP answers.

Services raise these (never Django's or DRF's HTTP exceptions), so the pages, the API and
the CLI refuse the same things the same way. `ServiceErrorMiddleware` (pages) and
`jikimi.api.errors.exception_handler` (API) both read `status_code` from here:

- `NotFound` → 404: no such object *for this user* — also when it exists but is not theirs,
  so a code cannot be probed (DESIGN §3: no 403 for records).
- `AccessDenied` → 403: the user sees the object (or it is no object) but may not do this.
- `InvalidInput` → 400: field-named messages, shown on the form's fields or as the API's
  `{"field": ["message"]}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# The key of errors that belong to no one field (DRF's default NON_FIELD_ERRORS_KEY).
NON_FIELD = "non_field_errors"


class ServiceError(Exception):
    """A refusal a service explains to its caller. `status_code` is its HTTP answer."""

    status_code = 400


class NotFound(ServiceError):
    """No such object for this user (also when it exists but is not theirs: no 403 leak)."""

    status_code = 404


class AccessDenied(ServiceError):
    """The user may not do this. Objects they cannot see are NotFound instead."""

    status_code = 403


class ReadOnlyAccess(AccessDenied):
    """The object is visible through a sharing grant, which lets the grantee read, not write."""


class InvalidInput(ServiceError, ValueError):
    """Field-named messages: `{"birth_year": "must be a year such as 1988"}`.

    Messages are translatable: a lazy translation, or an English msgid that the catalogs
    translate when shown (`messages()`).
    """

    status_code = 400

    def __init__(self, errors: Mapping[str, str | Promise]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    def messages(self) -> dict[str, str]:
        """The messages in the active language, by field."""
        from django.utils.translation import gettext

        return {field: gettext(str(message)) for field, message in self.errors.items()}


def not_an_object() -> InvalidInput:
    """A request body that is JSON but not an object (`[]`, `"x"`, `1`)."""
    return InvalidInput({NON_FIELD: _("The request body must be a JSON object.")})


# --- Pages --------------------------------------------------------------------------------

# Django's own exceptions, rendered by its handlers with our 400/403/404 templates.
_PAGE_EXCEPTIONS: dict[int, type[Exception]] = {
    404: Http404,
    403: PermissionDenied,
    400: BadRequest,
}


def as_page_exception(exc: ServiceError) -> Exception:
    """The Django exception a page raises for a service error (its message is not shown:
    a 404 must look like any other 404)."""
    return _PAGE_EXCEPTIONS.get(exc.status_code, BadRequest)()


class ServiceErrorMiddleware:
    """Pages: a service error that a view did not handle itself becomes the 400/403/404 page.

    Views still catch `InvalidInput` where they can show it on a form's fields; what they
    let through is answered here, so no view repeats the NotFound → 404 mapping.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, ServiceError):
            # Raised from here, Django's handler renders it (404.html, 403.html, 400.html).
            raise as_page_exception(exception) from None
