from django.apps import AppConfig


class EstimatesConfig(AppConfig):
    name = "jikimi.estimates"
    label = "estimates"
