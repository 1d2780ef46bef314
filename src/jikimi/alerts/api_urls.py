"""Alert API routes; included at /api/checkins/ (the board's API paths are unchanged)."""

from django.urls import path

from . import api

urlpatterns = [
    path("alerts/", api.AlertList.as_view(), name="alerts-api-alerts"),
    path("alerts/<int:alert_id>/", api.AlertDetail.as_view(), name="alerts-api-alert"),
    path("alerts/<int:alert_id>/ack", api.AlertAcknowledge.as_view(), name="alerts-api-alert-ack"),
    path("alerts/<int:alert_id>/close", api.AlertClose.as_view(), name="alerts-api-alert-close"),
]
