"""People API routes; jikimi.api.urls includes this at /api/people/ (no app_name)."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("", api.PeopleView.as_view(), name="api-people"),
    path("<str:code>/", api.PersonView.as_view(), name="api-person"),
    path("<str:code>/identities/", api.IdentitiesView.as_view()),
    path("<str:code>/consents/", api.ConsentsView.as_view()),
    path("<str:code>/trusted-contacts/", api.TrustedContactsView.as_view()),
    path("<str:code>/grants/", api.GrantsView.as_view()),
]
