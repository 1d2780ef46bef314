"""Incident API routes; jikimi.api.urls includes this at /api/incidents/ (no app_name)."""

from __future__ import annotations

from django.urls import path

from . import api, api_evidence, api_export, api_returns

urlpatterns = [
    path("events/", api.EventsView.as_view(), name="api-incident-events"),
    path("events/<str:event_code>/", api.EventView.as_view(), name="api-incident-event"),
    path(
        "events/<str:event_code>/grants/",
        api.EventGrantsView.as_view(),
        name="api-incident-event-grants",
    ),
    path(
        "events/<str:event_code>/grants/<int:grant_id>/revoke/",
        api.EventGrantRevokeView.as_view(),
        name="api-incident-event-grant-revoke",
    ),
    path(
        "events/<str:event_code>/evidence/",
        api_evidence.EvidenceListView.as_view(),
        name="api-incident-evidence-list",
    ),
    path(
        "events/<str:event_code>/evidence/<uuid:evidence_id>/",
        api_evidence.EvidenceView.as_view(),
        name="api-incident-evidence",
    ),
    path(
        "events/<str:event_code>/evidence/<uuid:evidence_id>/custody/",
        api_evidence.EvidenceCustodyView.as_view(),
        name="api-incident-evidence-custody",
    ),
    path(
        "events/<str:event_code>/evidence/<uuid:evidence_id>/download/",
        api_evidence.EvidenceDownloadView.as_view(),
        name="api-incident-evidence-download",
    ),
    path(
        "events/<str:event_code>/evidence/<uuid:evidence_id>/withdraw/",
        api_evidence.EvidenceWithdrawView.as_view(),
        name="api-incident-evidence-withdraw",
    ),
    path("acts/", api.ActsView.as_view(), name="api-incident-acts"),
    path("acts/export/", api_export.ActsExportView.as_view(), name="api-incident-acts-export"),
    path("terms/", api.TermsView.as_view(), name="api-incident-terms"),
    path("places/", api.PlacesView.as_view(), name="api-incident-places"),
    path("returnees/", api_returns.ReturneesView.as_view(), name="api-incident-returnees"),
    path(
        "returnees/<str:person_code>/",
        api_returns.ReturneeView.as_view(),
        name="api-incident-returnee",
    ),
]
