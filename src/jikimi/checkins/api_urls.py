"""Check-in API routes; the lead includes this at /api/checkins/ (no app_name). The alert
board's routes under the same prefix are the alerts app's (alerts/api_urls.py)."""

from django.urls import path

from . import api

urlpatterns = [
    path("enrolments/", api.EnrolmentList.as_view(), name="checkins-api-enrolments"),
    path(
        "enrolments/<uuid:enrolment_id>/",
        api.EnrolmentDetail.as_view(),
        name="checkins-api-enrolment",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/timeline",
        api.EnrolmentTimeline.as_view(),
        name="checkins-api-timeline",
    ),
    path(
        "enrolments/<uuid:enrolment_id>/<str:action>",
        api.EnrolmentAction.as_view(),
        name="checkins-api-enrolment-action",
    ),
    path("policies/", api.PolicyList.as_view(), name="checkins-api-policies"),
    path("policies/<int:policy_id>/", api.PolicyDetail.as_view(), name="checkins-api-policy"),
]
