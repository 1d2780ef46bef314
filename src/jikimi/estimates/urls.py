"""Estimate pages; the lead includes them at /estimates/."""

from django.urls import path

from . import views

app_name = "estimates"
urlpatterns = [
    path("", views.estimate_page, name="index"),
    path("table.csv", views.table_csv, name="table_csv"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<uuid:job_id>/", views.job_page, name="job"),
    path("jobs/<uuid:job_id>/status", views.job_status, name="job_status"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="job_cancel"),
]
