from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "jikimi.checkins"
    label = "checkins"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from jikimi.notify.signals import channel_failing, sms_quota_blocked

        from . import receivers

        channel_failing.connect(
            receivers.on_channel_failing, dispatch_uid="checkins.channel_failing"
        )
        sms_quota_blocked.connect(
            receivers.on_sms_quota_blocked, dispatch_uid="checkins.sms_quota_blocked"
        )
        # A withdrawn `checkins` consent stops monitoring (people knows nothing of checkins).
        post_save.connect(
            receivers.on_consent_saved,
            sender="people.Consent",
            dispatch_uid="checkins.consent_withdrawn",
        )
