from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "jikimi.people"
    label = "people"

    def ready(self) -> None:
        from jikimi.core.importers import register_importer
        from jikimi.core.lazy import lazy

        register_importer("people", "people", lazy("jikimi.people.importer:import_people"))
