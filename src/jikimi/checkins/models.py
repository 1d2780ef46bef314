"""Check-ins (DESIGN §4): enrolments, their schedule and ladder state, check-ins.

Alerts, their tasks and escalation policies belong to the alerts app (DESIGN §5).

The monitor's whole world is `Enrolment.next_action_at`: one indexed deadline per
enrolment. Every write that changes what the monitor must do next (a check-in, a duress
PIN, an acknowledgement, a pause) sets it, and every state change is a conditional UPDATE
on `version`, so two monitors — or a monitor and a check-in arriving at the same moment —
never both act on the same state.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jikimi.core.fields import EncryptedTextField


class EnrolmentStatus(models.TextChoices):
    SETUP = "setup", _("Waiting for the person to set PINs")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Phase(models.TextChoices):
    """Where an active enrolment stands in its current period."""

    WAITING = "waiting", _("Waiting for the next check-in")
    GRACE = "grace", _("Due: in the grace period")
    ESCALATING = "escalating", _("Missed: escalating")
    ACKNOWLEDGED = "acknowledged", _("Missed: acknowledged by staff")


class Enrolment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, related_name="checkin_enrolments"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    caseworker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="checkin_enrolments"
    )
    policy = models.ForeignKey(
        "alerts.EscalationPolicy", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=EnrolmentStatus.choices, default=EnrolmentStatus.SETUP
    )
    is_drill = models.BooleanField(default=False)

    # Schedule: every `interval_hours` after the last check-in, or weekly slots
    # ([[weekday 0=Mon, "HH:MM"], …]) in the person's time zone.
    interval_hours = models.PositiveIntegerField(null=True, blank=True)
    weekly_slots = models.JSONField(default=list, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Seoul")
    grace_minutes = models.PositiveIntegerField(default=60)
    channels = models.JSONField(default=list)  # subset of ["web", "sms", "email"]
    language = models.CharField(max_length=8, default="ko")

    # Secrets: only keyed hashes (HMAC with the server pepper) and blind indexes.
    pin_hash = models.CharField(max_length=64, blank=True)
    duress_hash = models.CharField(max_length=64, blank=True)
    token_index = models.CharField(max_length=32, blank=True)
    setup_index = models.CharField(max_length=32, blank=True)
    setup_expires_at = models.DateTimeField(null=True, blank=True)
    phone = EncryptedTextField(blank=True, null=True)  # for SMS reminders and check-ins
    phone_index = models.CharField(max_length=32, blank=True)
    email = EncryptedTextField(blank=True, null=True)

    # Monitor state.
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.WAITING)
    next_due_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    escalation_step = models.PositiveSmallIntegerField(default=0)  # steps reached so far
    reminder_round = models.PositiveIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    # The missed check-in alert whose ladder is running (the ladder state is above).
    open_alert = models.ForeignKey(
        "alerts.Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=0)

    # Wrong PINs in the current window (per enrolment; the IP limit is in services).
    wrong_pins = models.PositiveSmallIntegerField(default=0)
    wrong_window_start = models.DateTimeField(null=True, blank=True)
    last_checkin_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The monitor asks only "which enrolments are due?": keep that one index small
            # and ordered. A NULL deadline (setup, withdrawn) is never due.
            models.Index(fields=["next_action_at"], name="enrolment_next_action"),
            models.Index(fields=["organisation", "status"]),
            # Blind indexes are only ever compared for equality: plain b-trees (db_index=True
            # would add a second, LIKE-only index on PostgreSQL that every write pays for).
            models.Index(fields=["token_index"], name="enrolment_token_index"),
            models.Index(fields=["setup_index"], name="enrolment_setup_index"),
            models.Index(fields=["phone_index"], name="enrolment_phone_index"),
        ]


class CheckInKind(models.TextChoices):
    OK = "ok", _("Checked in")
    DURESS = "duress", _("Duress PIN")
    WRONG = "wrong", _("Wrong PIN")
    LOCKED = "locked", _("Refused: too many wrong PINs")
    PAUSE = "pause", _("Paused by the person")
    WITHDRAW = "withdraw", _("Withdrawn by the person")


class CheckIn(models.Model):
    """Every attempt, whatever its outcome; shown on the staff timeline."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="checkins")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=CheckInKind.choices)
    channel = models.CharField(max_length=8)  # web, sms
    # A duress check-in, or the wrong PIN that reached the alert threshold, still owes staff
    # its alert: the monitor raises it from this row whenever it next runs (see services).
    alert_pending = models.BooleanField(default=False)
    # For a wrong PIN: when its wrong-PIN window started (the wrong-PIN alert's key).
    window_start = models.DateTimeField(null=True, blank=True)
    # What the person asked for under duress (pause, withdraw) — never applied.
    requested = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["enrolment", "-at"])]


class AlertKind(models.TextChoices):
    """The check-ins' alert kinds, registered with the alerts app in CheckinsConfig.ready."""

    DURESS = "duress", _("Duress PIN used")
    MISSED = "missed", _("Missed check-in")
    WRONG_PINS = "wrong_pins", _("Repeated wrong PINs")


class IpStrike(models.Model):
    """Wrong PINs from one address in the current window, shared by every web process.

    `key` is a keyed hash of the address (no IP is stored). Rows of ended windows are
    deleted by the monitor (`services.prune_ip_strikes`).
    """

    key = models.CharField(max_length=64, primary_key=True)
    window_start = models.DateTimeField(db_index=True)
    wrong = models.PositiveIntegerField(default=0)
