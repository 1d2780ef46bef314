from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jikimi.core"
    label = "core"
