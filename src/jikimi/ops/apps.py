from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "jikimi.ops"
    label = "ops"
