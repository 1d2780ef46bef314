"""Estimate API; the lead includes this at /api/estimates/ (no app_name)."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.EstimateView.as_view(), name="estimates-api"),
    path("jobs/", api.EstimateJobsView.as_view(), name="estimates-jobs-api"),
    path("jobs/<uuid:job_id>/", api.EstimateJobView.as_view(), name="estimates-job-api"),
]
