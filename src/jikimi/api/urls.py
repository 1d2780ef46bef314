"""The API router: the schema, its documentation page, and each app's `api_urls` under its
prefix."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from .errors import not_found
from .views import docs_view

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
    path("people/", include("jikimi.people.api_urls")),
    path("linkage/", include("jikimi.linkage.api_urls")),
    path("incidents/", include("jikimi.incidents.api_urls")),
    path("checkins/", include("jikimi.alerts.api_urls")),
    path("checkins/", include("jikimi.checkins.api_urls")),
    path("estimates/", include("jikimi.estimates.api_urls")),
    path("cases/", include("jikimi.cases.api_urls")),
    # The UN draft of a case (reports, above cases) keeps its path under the case.
    path("", include("jikimi.reports.api_urls")),
    # Last: any other path under /api/ is a JSON 404, as the schema documents (a path id
    # with a slash in it, an unknown action), not the HTML page.
    re_path(r"^.*$", not_found, name="api-not-found"),
]
