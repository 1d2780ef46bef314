from __future__ import annotations

from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.person_list, name="list"),
    path("new", views.person_new, name="new"),
    path("<str:code>/", views.person_detail, name="detail"),
    path("<str:code>/edit", views.person_edit, name="edit"),
    path("<str:code>/identities", views.add_identity, name="add_identity"),
    path("<str:code>/consents", views.record_consent, name="record_consent"),
    path("<str:code>/contacts", views.add_contact, name="add_contact"),
    path(
        "<str:code>/identities/<uuid:identity_id>/remove",
        views.remove_identity,
        name="remove_identity",
    ),
    path("<str:code>/share", views.share, name="share"),
    path("<str:code>/grants/<int:grant_id>/revoke", views.revoke_grant, name="revoke_grant"),
]
