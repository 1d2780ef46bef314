from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "jikimi.people"
    label = "people"
