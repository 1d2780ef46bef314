"""The reports pages; jikimi.urls includes this at the root, so the UN draft keeps its address
under the case (/cases/<code>/un-draft, a contract) while the page is this app's."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("cases/<str:code>/un-draft", views.un_draft, name="un_draft"),
]
