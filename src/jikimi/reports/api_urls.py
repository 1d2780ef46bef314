"""Reports API routes; jikimi.api.urls includes this at /api/ (no app_name): the UN draft
keeps its path under the case (/api/cases/<code>/un-draft/, a contract)."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("cases/<str:case_code>/un-draft/", api.UnDraftView.as_view()),
]
