from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jikimi.core"
    label = "core"

    def ready(self) -> None:
        from . import db

        db.install()  # track SQLite connections; guard fork() (see jikimi.core.db)
