from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jikimi.api"
    label = "api"
