from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from . import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("people/", views.PeopleView.as_view(), name="api-people"),
    path("people/<str:code>/", views.PersonView.as_view(), name="api-person"),
    path("people/<str:code>/identities/", views.IdentitiesView.as_view()),
    path("people/<str:code>/consents/", views.ConsentsView.as_view()),
    path("people/<str:code>/trusted-contacts/", views.TrustedContactsView.as_view()),
    path("people/<str:code>/grants/", views.GrantsView.as_view()),
    path("linkage/", include("jikimi.linkage.api_urls")),
    path("checkins/", include("jikimi.alerts.api_urls")),
    path("checkins/", include("jikimi.checkins.api_urls")),
]
