"""The incident pages (built on top of services.py); mounted at /incidents/."""

from __future__ import annotations

from django.urls import path

from . import views, views_evidence, views_returns

app_name = "incidents"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("new", views.event_new, name="new"),
    path("export", views.export_acts, name="export"),
    path("new/act-row", views.act_row, name="act_row"),
    path("person/<str:code>", views.person_acts, name="person"),
    path("returnees", views_returns.returnee_list, name="returnees"),
    path("returnees/<str:code>", views_returns.returnee_detail, name="returnee"),
    path("<str:code>", views.event_detail, name="detail"),
    path("<str:code>/share", views.event_share, name="share"),
    path("<str:code>/grants/<int:grant_id>/revoke", views.event_unshare, name="unshare"),
    path("<str:code>/evidence/", views_evidence.evidence_page, name="evidence"),
    path(
        "<str:code>/evidence/<uuid:evidence_id>/download",
        views_evidence.evidence_download,
        name="evidence_download",
    ),
    path(
        "<str:code>/evidence/<uuid:evidence_id>/withdraw",
        views_evidence.evidence_withdraw,
        name="evidence_withdraw",
    ),
    path(
        "<str:code>/evidence/<uuid:evidence_id>/custody",
        views_evidence.evidence_custody,
        name="evidence_custody",
    ),
]
