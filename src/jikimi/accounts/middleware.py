from zoneinfo import ZoneInfo

from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils import timezone

# Paths reachable without a verified staff session: the login flow itself, static files,
# the person's own check-in pages and gateway webhooks (they authenticate otherwise), and
# the API (token or verified-session authentication, checked by DRF; its documentation page
# checks the session itself), and the icon a browser asks for by itself.
PUBLIC_PREFIXES = (
    "/accounts/login",
    "/accounts/logout",
    "/static/",
    "/c/",
    "/hooks/",
    "/api/",
    "/i18n/",
    "/healthz",
    "/favicon.ico",
)


class RequireVerifiedStaffMiddleware:
    """A session that passed the password but not the second factor is no session.

    A verified member of staff sees times in their organisation's time zone (its setting on
    /admin/settings; jikimi_format's |when and |day use the current time zone)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(PUBLIC_PREFIXES)
        ):
            logout(request)
            return redirect("accounts:login")
        if user is not None and user.is_authenticated and user.organisation_id:
            from .services import time_zone_of

            timezone.activate(ZoneInfo(time_zone_of(user.organisation)))
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        return self.get_response(request)
