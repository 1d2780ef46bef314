from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Layer 6 (DESIGN §2): documents composed from the apps below, read only through their
    services. No models of its own."""

    name = "jikimi.reports"
    label = "reports"
