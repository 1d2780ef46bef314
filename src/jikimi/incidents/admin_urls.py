"""/admin/vocabularies/, /admin/places/ and /admin/event-grants/: the organisation
administrators' pages for the vocabularies, the gazetteer and the events it shares or is
shared (mounted beside accounts' /admin/)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "incidents_admin"

urlpatterns = [
    path("vocabularies/", views.admin_vocabularies, name="vocabularies"),
    path("vocabularies/<int:term_id>", views.admin_term, name="term"),
    path("places/", views.admin_places, name="places"),
    path("places/<int:place_id>", views.admin_place, name="place"),
    path("event-grants/", views.admin_event_grants, name="event_grants"),
]
