from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "jikimi.checkins"
    label = "checkins"

    def ready(self) -> None:
        from django.db.models.signals import post_save
        from django.urls import reverse

        from jikimi.alerts.registry import register_kind
        from jikimi.alerts.signals import alert_stopped
        from jikimi.core.lazy import lazy
        from jikimi.core.monitor import register_pass

        from .models import AlertKind

        def timeline_url(alert) -> str:
            return reverse("checkins:timeline", args=[alert.source_ref])

        # An open alert of these kinds means the person may be in danger now: linkage puts
        # their pairs first.
        for code, priority, email_label in (
            (AlertKind.DURESS, 0, "DURESS 강압 신호"),
            (AlertKind.MISSED, 1, "Missed check-in 안부 확인 누락"),
            (AlertKind.WRONG_PINS, 2, "Repeated wrong PINs PIN 반복 오류"),
        ):
            register_kind(
                code.value,
                code.label,
                priority=priority,
                email_label=email_label,
                person_at_risk=True,
                subject_url=timeline_url,
            )
        # Lazy receivers hold a strong reference, as weak=False needs: nothing else keeps them.
        alert_stopped.connect(
            lazy("jikimi.checkins.services:on_alert_stopped"),
            weak=False,
            dispatch_uid="checkins.alert_stopped",
        )
        # A withdrawn `checkins` consent stops monitoring (people knows nothing of checkins).
        post_save.connect(
            lazy("jikimi.checkins.receivers:on_consent_saved"),
            weak=False,
            sender="people.Consent",
            dispatch_uid="checkins.consent_withdrawn",
        )
        # `jikimi monitor` runs these with every other app's passes (notify delivers after).
        register_pass("checkins.due", lazy("jikimi.checkins.monitor:monitor_pass"), order=10)
        register_pass(
            "checkins.prune_ip_strikes",
            lazy("jikimi.checkins.monitor:prune_pass"),
            order=90,
            every_seconds=60,
        )
