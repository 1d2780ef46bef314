"""The board's pages. Mounted at the site root: the paths are those the board had under
check-ins (bookmarks, e-mailed links and the browser tests use them)."""

from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("checkins/", views.board, name="board"),
    path("checkins/alerts/<int:alert_id>", views.alert_detail, name="alert"),
    path("checkins/alerts/<int:alert_id>/ack", views.alert_ack, name="alert_ack"),
    path("checkins/alerts/<int:alert_id>/close", views.alert_close, name="alert_close"),
    path("checkins/tasks/<int:task_id>/done", views.task_done, name="task_done"),
]
