from django.urls import path

from .views import checkin, enrol, policies, setup, sms_hook, timeline

app_name = "checkins"
urlpatterns = [
    # The person's pages (no staff session; the token and PIN authenticate).
    path("c/setup/<str:token>", setup.setup, name="setup"),
    path("c/<str:token>", checkin.checkin, name="checkin"),
    # The SMS gateway (HMAC-signed).
    path("hooks/sms/<uuid:channel_id>", sms_hook.sms_hook, name="sms_hook"),
    # Staff (the alert board, at checkins/ and checkins/alerts/…, is the alerts app's).
    path("checkins/enrol/<str:code>", enrol.enrol, name="enrol"),
    path("checkins/policies/", policies.policy_list, name="policies"),
    path("checkins/policies/new", policies.policy_edit, name="policy_new"),
    path("checkins/policies/<int:policy_id>", policies.policy_edit, name="policy_edit"),
    path("checkins/enrolments/<uuid:enrolment_id>", timeline.timeline, name="timeline"),
    path(
        "checkins/enrolments/<uuid:enrolment_id>/<str:action>",
        timeline.enrolment_action,
        name="enrolment_action",
    ),
]
