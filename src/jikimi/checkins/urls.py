from django.urls import path

from .views import alert, board, checkin, enrol, policies, setup, sms_hook, timeline

app_name = "checkins"
urlpatterns = [
    # The person's pages (no staff session; the token and PIN authenticate).
    path("c/setup/<str:token>", setup.setup, name="setup"),
    path("c/<str:token>", checkin.checkin, name="checkin"),
    # The SMS gateway (HMAC-signed).
    path("hooks/sms/<uuid:channel_id>", sms_hook.sms_hook, name="sms_hook"),
    # Staff.
    path("checkins/", board.board, name="board"),
    path("checkins/alerts/<int:alert_id>", alert.alert_detail, name="alert"),
    path("checkins/alerts/<int:alert_id>/ack", alert.alert_ack, name="alert_ack"),
    path("checkins/alerts/<int:alert_id>/close", alert.alert_close, name="alert_close"),
    path("checkins/tasks/<int:task_id>/done", alert.task_done, name="task_done"),
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
