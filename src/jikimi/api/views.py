"""The API's pages for people: the documentation (Swagger UI over /api/schema/)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from jikimi.accounts.http import is_verified


@require_safe
def docs_view(request: HttpRequest) -> HttpResponse:
    """The API documentation, for signed-in staff (both factors), any role.

    The schema it shows stays public at /api/schema/ (as before); the page is a staff page,
    in the staff layout, and /api/ is outside RequireVerifiedStaffMiddleware, so it checks
    the session itself. Signed in, "Try it out" calls the API as you (a verified session);
    programs send a token instead. Swagger UI is the drf-spectacular-sidecar copy, served
    from here, and its start-up code is a static file (the strict CSP allows no inline
    script): it reads the schema URL and the CSRF token from the page's data- attributes.
    """
    user = request.user
    if not is_verified(user):
        return redirect_to_login(request.get_full_path())
    return render(request, "api/docs.html", {"schema_url": reverse("api-schema")})
