"""Signals from the apps below that check-ins acts on."""

from __future__ import annotations

from . import services


def on_consent_saved(sender, *, instance, created, **kw):
    """A `checkins` consent withdrawn in the people app (page, API, import) stops monitoring.

    Connected to Consent's post_save in CheckinsConfig.ready, so the people app need not
    know about check-ins. `record_consent` saves inside a transaction: the consent row,
    its audit event and the withdrawal commit together or not at all."""
    if created and instance.purpose == "checkins" and not instance.granted:
        services.stop_for_withdrawn_consent(instance.person_id, actor=instance.recorded_by)
