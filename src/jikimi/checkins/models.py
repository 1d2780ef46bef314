"""Check-ins (DESIGN §4): enrolments, their schedule and ladder state, check-ins, alerts.

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


class Target(models.TextChoices):
    """Whom an escalation step notifies."""

    PERSON = "person", _("The person")
    CASEWORKER = "caseworker", _("Case worker")
    SUPERVISORS = "supervisors", _("Supervisors")
    TRUSTED_CONTACTS = "trusted_contacts", _("Trusted contacts")
    AUTHORITIES_TASK = "authorities_task", _("Task: notify the authorities")


DEFAULT_LADDER = [
    {"after_minutes": 0, "to": "caseworker"},
    {"after_minutes": 6 * 60, "to": "supervisors"},
    {"after_minutes": 24 * 60, "to": "trusted_contacts"},
    {"after_minutes": 48 * 60, "to": "authorities_task"},
]


class EscalationPolicy(models.Model):
    """An organisation's template for what happens after a missed check-in.

    `steps` is ordered: `[{"after_minutes": N, "to": target}]`, N counted from the moment
    the check-in was missed (due time + grace). Recipients of steps already reached are
    reminded every `repeat_minutes` until someone acknowledges.
    """

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="escalation_policies"
    )
    name = models.CharField(max_length=100)
    remind_person_at_due = models.BooleanField(default=True)
    steps = models.JSONField(default=list)
    repeat_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="policy_name_once")
        ]

    def __str__(self) -> str:
        return self.name


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
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="+")
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
    open_alert = models.ForeignKey(
        "Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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
    # A duress check-in still owes staff its alert: the monitor raises it (see services).
    alert_pending = models.BooleanField(default=False)
    # What the person asked for under duress (pause, withdraw) — never applied.
    requested = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["enrolment", "-at"])]


class AlertKind(models.TextChoices):
    DURESS = "duress", _("Duress PIN used")
    MISSED = "missed", _("Missed check-in")
    WRONG_PINS = "wrong_pins", _("Repeated wrong PINs")
    CHANNEL_FAILURE = "channel_failure", _("Channel failing")
    QUOTA_BLOCKED = "quota_blocked", _("SMS quota blocked a message")
    REAPPEARANCE = "reappearance", _("A missing or detained person reappeared in a record")
    LINKAGE_FAILURE = "linkage_failure", _("Linking a record failed: a reappearance may be missed")


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


PRIORITY = {
    AlertKind.DURESS: 0,
    AlertKind.MISSED: 1,
    AlertKind.WRONG_PINS: 2,
    AlertKind.CHANNEL_FAILURE: 2,
    AlertKind.QUOTA_BLOCKED: 3,
    AlertKind.REAPPEARANCE: 1,  # a missing person seen again: act at once
    AlertKind.LINKAGE_FAILURE: 2,
}


class Alert(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    priority = models.PositiveSmallIntegerField()  # 0 = highest
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    # Unique: whoever raises an alert twice (two monitors, a retried pass) gets one row.
    key = models.CharField(max_length=200, unique=True)
    is_drill = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)  # no personal data
    created_at = models.DateTimeField()
    escalation_stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.CharField(max_length=16, blank=True)  # checkin, ack
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    close_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["organisation", "state", "priority", "created_at"])]


class Task(models.Model):
    """Work for a human that the ladder cannot do itself (e.g. notify the authorities)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=32, default="notify_authorities")
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "kind"], name="task_once")]


class IpStrike(models.Model):
    """Wrong PINs from one address in the current window, shared by every web process.

    `key` is a keyed hash of the address (no IP is stored). Rows of ended windows are
    deleted by the monitor (`services.prune_ip_strikes`).
    """

    key = models.CharField(max_length=64, primary_key=True)
    window_start = models.DateTimeField(db_index=True)
    wrong = models.PositiveIntegerField(default=0)
