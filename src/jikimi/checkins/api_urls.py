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
    # One route per action (pause, resume, withdraw, setup-link, policy), so the schema says
    # what each reads and answers; an unknown action is the API's 404.
    *(
        path(f"enrolments/<uuid:enrolment_id>/{action}", view.as_view())
        for action, view in api.ENROLMENT_ACTIONS.items()
    ),
    path("policies/", api.PolicyList.as_view(), name="checkins-api-policies"),
    path("policies/<int:policy_id>/", api.PolicyDetail.as_view(), name="checkins-api-policy"),
]
