"""Estimate API; the lead includes this at /api/estimates/ (no app_name)."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.EstimateView.as_view(), name="estimates-api"),
]
