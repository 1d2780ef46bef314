"""/admin/grants/: the organisation's sharing grants, on the administration pages (people owns
the grants and sits above accounts, so this page is people's)."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "orgadmin_grants"
urlpatterns = [path("", views.admin_grants, name="list")]
