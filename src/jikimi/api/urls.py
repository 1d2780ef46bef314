"""The API router: the schema, and each app's own `api_urls` under its prefix."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("people/", include("jikimi.people.api_urls")),
    path("linkage/", include("jikimi.linkage.api_urls")),
    path("checkins/", include("jikimi.alerts.api_urls")),
    path("checkins/", include("jikimi.checkins.api_urls")),
    path("estimates/", include("jikimi.estimates.api_urls")),
]
