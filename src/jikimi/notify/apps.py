from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "jikimi.notify"
    label = "notify"
