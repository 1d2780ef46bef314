from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "jikimi.people"
    label = "people"

    def ready(self) -> None:
        from jikimi.core.importers import register_importer

        from .importer import import_people

        register_importer("people", "people", import_people)
