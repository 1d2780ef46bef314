from django.apps import AppConfig


class LinkageConfig(AppConfig):
    name = "jikimi.linkage"
    label = "linkage"

    def ready(self) -> None:
        # New names and birth dates are linked continuously (see signals.py).
        from django.utils.translation import gettext_lazy as _

        from jikimi.alerts.registry import register_kind

        from . import signals  # noqa: F401

        register_kind(
            "reappearance",
            _("A missing or detained person reappeared in a record"),
            priority=1,  # a missing person seen again: act at once
            email_label="Reappearance 재출현",
        )
        register_kind(
            "linkage_failure",
            _("Linking a record failed: a reappearance may be missed"),
            priority=2,
            email_label="Linkage failed 연계 실패",
        )
