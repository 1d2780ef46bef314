from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "jikimi.cases"
    label = "cases"

    def ready(self) -> None:
        from django.urls import reverse
        from django.utils.translation import gettext_lazy as _

        from jikimi.alerts.registry import register_kind
        from jikimi.core.lazy import lazy
        from jikimi.core.monitor import register_pass

        from .models import ALERT_KIND

        def case_url(alert) -> str:
            return reverse("cases:case", args=[alert.source_ref])

        # A passed deadline on a protection case: the person may be repatriated within days.
        register_kind(
            ALERT_KIND,
            _("A protection case's deadline passed"),
            priority=1,
            email_label="Case deadline passed 보호 사례 기한 경과",
            person_at_risk=True,
            subject_url=case_url,
        )
        # Before the generic ladder (order 50), so a deadline's first message goes out in
        # the same monitor loop that raised it.
        register_pass("cases.deadlines", lazy("jikimi.cases.monitor:deadline_pass"), order=20)
