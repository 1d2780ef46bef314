from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "jikimi.linkage"
    label = "linkage"

    def ready(self) -> None:
        # New names and birth dates are linked continuously (see signals.py).
        from . import signals  # noqa: F401
