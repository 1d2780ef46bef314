"""/admin/: the organisation administration pages (for its administrators only)."""

from __future__ import annotations

from django.urls import path

from . import views_admin

app_name = "orgadmin"
urlpatterns = [
    path("", views_admin.admin_index, name="index"),
    path("staff/", views_admin.staff_list, name="staff"),
    path("staff/invite", views_admin.staff_invite, name="invite"),
    path("staff/<int:user_id>/", views_admin.staff_member, name="member"),
    path("settings", views_admin.organisation_settings, name="settings"),
]
