from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "jikimi.alerts"
    label = "alerts"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from jikimi.core.lazy import lazy
        from jikimi.core.monitor import register_pass
        from jikimi.notify.signals import channel_failing, sms_quota_blocked

        from .registry import register_kind

        # notify's kinds: notify sits beside alerts (layer 4) and cannot call it, so alerts
        # listens to notify's signals and registers its kinds.
        register_kind(
            "channel_failure",
            _("Channel failing"),
            priority=2,
            email_label="Channel failing 발송 채널 장애",
        )
        register_kind(
            "quota_blocked",
            _("SMS quota blocked a message"),
            priority=3,
            email_label="SMS quota blocked SMS 한도 초과",
        )
        channel_failing.connect(
            lazy("jikimi.alerts.receivers:on_channel_failing"),
            weak=False,
            dispatch_uid="alerts.channel_failing",
        )
        sms_quota_blocked.connect(
            lazy("jikimi.alerts.receivers:on_sms_quota_blocked"),
            weak=False,
            dispatch_uid="alerts.sms_quota_blocked",
        )
        # The generic ladder (alerts raised with a policy, e.g. a case deadline).
        register_pass("alerts.escalate", lazy("jikimi.alerts.services:escalation_pass"), order=50)
