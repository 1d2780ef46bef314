from functools import cache

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.generic import RedirectView


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@cache
def _favicon() -> bytes:
    path = finders.find("jikimi/favicon.svg")
    if not isinstance(path, str):
        raise RuntimeError("jikimi/favicon.svg is missing from the static files")
    with open(path, "rb") as f:
        return f.read()


@cache_control(max_age=86400, public=True)
def favicon(request):
    """Pages without a <link rel="icon"> (DRF's browsable API) ask for /favicon.ico: the
    same icon as the rest, not a 404."""
    return HttpResponse(_favicon(), content_type="image/svg+xml")


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="people:list", permanent=False)),
    path("healthz", healthz),
    path("favicon.ico", favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("jikimi.accounts.urls")),
    # Organisation administration; its sharing-grants page is people's (people is above).
    path("admin/grants/", include("jikimi.people.admin_urls")),
    path("admin/", include("jikimi.incidents.admin_urls")),
    path("admin/", include("jikimi.accounts.admin_urls")),
    path("people/", include("jikimi.people.urls")),
    path("audit/", include("jikimi.audit.urls")),
    path("linkage/", include("jikimi.linkage.urls")),
    path("incidents/", include("jikimi.incidents.urls")),
    path("estimates/", include("jikimi.estimates.urls")),
    # The UN draft of a case is the reports app's page at /cases/<code>/un-draft.
    path("", include("jikimi.reports.urls")),
    path("cases/", include("jikimi.cases.urls")),
    path("api/", include("jikimi.api.urls")),
    # The person's check-in pages (/c/<token>), SMS hooks and the staff alert board.
    path("", include("jikimi.alerts.urls")),
    path("", include("jikimi.checkins.urls")),
]

# A database still locked after the busy timeout answers 503 (retry), any other error 500.
handler500 = "jikimi.core.db.server_error"
