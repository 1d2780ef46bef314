"""Alerts from every capability (DESIGN §5): one board, one acknowledgement, one ladder.

An alert names its subject generically — the person (pseudonymous core) and, for the app
that raised it, `source_app` + `source_ref` (e.g. `checkins` + an enrolment id) — so this
app never imports the apps above it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import registry
from .shapes import PolicyStep


class Target(models.TextChoices):
    """Whom an escalation step notifies."""

    PERSON = "person", _("The person")
    CASEWORKER = "caseworker", _("Case worker")
    SUPERVISORS = "supervisors", _("Supervisors")
    TRUSTED_CONTACTS = "trusted_contacts", _("Trusted contacts")
    AUTHORITIES_TASK = "authorities_task", _("Task: notify the authorities")


DEFAULT_LADDER: list[PolicyStep] = [
    {"after_minutes": 0, "to": "caseworker"},
    {"after_minutes": 6 * 60, "to": "supervisors"},
    {"after_minutes": 24 * 60, "to": "trusted_contacts"},
    {"after_minutes": 48 * 60, "to": "authorities_task"},
]


DEFAULT_POLICY_NAME = "standard"


class EscalationPolicy(models.Model):
    """An organisation's template for how an unacknowledged alert escalates.

    `steps` is ordered: `[{"after_minutes": N, "to": target}]` (types.PolicyStep), N counted
    from the moment escalation started (for a missed check-in, due time + grace). Recipients
    of steps already reached are reminded every `repeat_minutes` until someone acknowledges.
    Any kind may use a ladder: check-ins for missed check-ins, cases for deadlines.
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

    @property
    def display_name(self) -> str:
        """The name as staff read it: the policy every organisation starts with is stored as
        "standard" (`services.default_policy`) and shown in the reader's language."""
        return str(_("Standard")) if self.name == DEFAULT_POLICY_NAME else self.name


class AlertState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLOSED = "closed", _("Closed")


# Priorities as words (0 = highest). Kinds register a number; staff read a word.
PRIORITY_LABELS = {
    0: _("Urgent"),
    1: _("High"),
    2: _("Normal"),
}
PRIORITY_LOW = _("Low")

# Why an alert's ladder stopped (`Alert.stopped_by`).
STOPPED_BY_LABELS = {
    "checkin": _("the person checked in"),
    "ack": _("acknowledged by staff"),
    "close": _("closed by staff"),
    "withdrawn": _("consent withdrawn"),
}

# What a task asks of a human (`Task.kind`).
TASK_LABELS = {
    "notify_authorities": _("Notify the authorities"),
}


class Alert(models.Model):
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    # The subject: the person (when there is one) and the raising app's own reference.
    person = models.ForeignKey(
        "people.Person", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source_app = models.CharField(max_length=32, blank=True)
    source_ref = models.CharField(max_length=64, blank=True)
    # The responsible worker (a check-in's case worker): the ladder's "caseworker" step.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20)  # a registered kind (registry.py)
    priority = models.PositiveSmallIntegerField()  # 0 = highest
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    # Unique: whoever raises an alert twice (two monitors, a retried pass) gets one row.
    key = models.CharField(max_length=200, unique=True)
    is_drill = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)  # no personal data (types.py)
    created_at = models.DateTimeField()
    escalation_stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.CharField(max_length=16, blank=True)  # checkin, ack, close, withdrawn
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    close_reason = models.CharField(max_length=500, blank=True)

    # The generic ladder (alerts raised with a policy, e.g. a case deadline). A missed
    # check-in's ladder is driven by the check-ins monitor with the enrolment's state, and
    # leaves these empty.
    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    escalation_step = models.PositiveSmallIntegerField(default=0)  # steps reached so far
    reminder_round = models.PositiveIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [
            models.Index(
                fields=["organisation", "state", "priority", "created_at"], name="alert_board"
            ),
            # "This enrolment's alerts" (the check-in timeline), "this case's alerts".
            models.Index(fields=["source_app", "source_ref"], name="alert_source"),
            # The generic ladder's pass asks only "which alerts are due to escalate?".
            models.Index(fields=["next_escalation_at"], name="alert_next_escalation"),
        ]

    # The person's display name where the viewing user may see it (set by the services
    # that load an alert for a page; None for a pseudonymous role or no person).
    subject_name: str | None = None

    @property
    def kind_label(self) -> str:
        return registry.label(self.kind)

    @property
    def priority_label(self) -> str:
        return str(PRIORITY_LABELS.get(self.priority, PRIORITY_LOW))

    @property
    def priority_class(self) -> str:
        """The badge for the priority: danger, warn, info or plain."""
        return {0: "danger", 1: "warn", 2: "info"}.get(self.priority, "")

    @property
    def stopped_by_label(self) -> str:
        return str(STOPPED_BY_LABELS.get(self.stopped_by, self.stopped_by))

    @property
    def state_class(self) -> str:
        return {"open": "warn", "acknowledged": "info", "closed": "ok"}.get(self.state, "")

    @property
    def subject_url(self) -> str:
        try:
            spec = registry.kind(self.kind)
        except KeyError:
            return ""
        return spec.subject_url(self) if spec.subject_url and self.source_ref else ""


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

    @property
    def kind_label(self) -> str:
        return str(TASK_LABELS.get(self.kind, self.kind))
