"""Protection cases (DESIGN §5): a missing or detained person followed until they are safe.

A case belongs to one organisation; another organisation sees it only through a referral
it accepted (services.visible_cases). Everything staff write in free text about the case
(notes, reasons, what was done, what the family was told) is encrypted at rest.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from jikimi.core.codes import new_public_code
from jikimi.core.fields import EncryptedTextField

# The alert a passed deadline raises (here, not in services, so that the app's ready() can
# register it without importing the services and everything they import).
ALERT_KIND = "case_deadline"


def _case_code() -> str:
    return new_public_code("C")


def _referral_code() -> str:
    return new_public_code("R")


class CaseKind(models.TextChoices):
    MISSING = "missing", _("Missing")
    DETAINED = "detained", _("Detained")
    AT_RISK = "at_risk_of_repatriation", _("At risk of repatriation")
    REPATRIATED = "repatriated", _("Repatriated")
    RETURNED = "returned_to_north", _("Returned to the North")
    ABDUCTED = "abducted", _("Abducted")


class CaseStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    LOCATED = "located", _("Located")
    DETAINED = "detained", _("Detained")
    AT_RISK = "at_risk_of_repatriation", _("At risk of repatriation")
    REPATRIATED = "repatriated", _("Repatriated")
    RELEASED = "released", _("Released")
    RESETTLED = "resettled", _("Resettled")
    UNKNOWN = "unknown", _("Unknown")
    CLOSED = "closed", _("Closed")


class Priority(models.IntegerChoices):
    URGENT = 0, _("Urgent")
    HIGH = 1, _("High")
    NORMAL = 2, _("Normal")
    LOW = 3, _("Low")


# "Never contacted" sorts before any contact, the same on both databases (SQLite and
# PostgreSQL disagree on where NULL sorts, and SQLite's indexes take no NULLS FIRST).
NEVER_CONTACTED_FIRST = Coalesce(
    F("last_family_contact_at"),
    Value(datetime(1900, 1, 1, tzinfo=UTC), output_field=models.DateTimeField()),
)


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=16, unique=True, default=_case_code, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, choices=CaseKind.choices)
    status = models.CharField(
        max_length=32, choices=CaseStatus.choices, default=CaseStatus.REPORTED
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.HIGH)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic locking: every change is `UPDATE … WHERE version = <what the editor read>`.
    version = models.PositiveIntegerField(default=1)
    notes = EncryptedTextField(blank=True, null=True)
    # Where the case came from, until incidents can be linked: e.g. "incident act A-…".
    source_ref = models.CharField(max_length=100, blank=True)
    # Kept by log_family_contact: the "no contact with the family for N days" list reads it
    # from an index instead of aggregating every contact of every case.
    last_family_contact_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField()
    # The escalation policy its deadline alerts climb (alerts.EscalationPolicy, by id: read
    # through the alert service). None: the kind's policy (KindPolicy), else the standard.
    escalation_policy_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # "My cases": a worker's cases, newest first (the page walks the index).
            models.Index(fields=["responsible", "-created_at", "id"], name="case_mine"),
            # The supervisor's overview: an organisation's cases, oldest first.
            models.Index(fields=["organisation", "created_at", "id"], name="case_overview"),
            # Its counts by status and age (an index-only scan).
            models.Index(fields=["organisation", "status", "created_at"], name="case_by_status"),
            # "No contact with the family for N days", never contacted first: the page walks
            # the index in its order.
            models.Index(
                F("organisation"),
                NEVER_CONTACTED_FIRST,
                F("created_at"),
                F("id"),
                name="case_family_contact",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED


class StatusChange(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=CaseStatus.choices)
    reason = EncryptedTextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["case", "-at"], name="case_status_history")]


class DeadlineKind(models.TextChoices):
    REVIEW = "review", _("Review")
    FAMILY_CONTACT = "family_contact", _("Family contact")
    OTHER = "other", _("Other")


class DeadlineSource(models.TextChoices):
    RULE = "rule", _("Set by rule")
    HAND = "hand", _("Set by hand")


# An open deadline: neither met nor cancelled. The monitor asks only for open deadlines
# whose time has come and that raised no alert yet (the partial index below).
OPEN_DEADLINE = Q(met_at__isnull=True, cancelled_at__isnull=True)


class Deadline(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    # The case's organisation, copied so "deadlines this week" filters before it joins
    # (as people's IdentityIndex does).
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=DeadlineKind.choices)
    due_at = models.DateTimeField()
    label = models.CharField(max_length=200, blank=True)
    set_by = models.CharField(max_length=8, choices=DeadlineSource.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    met_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Set when the monitor claimed it (conditional UPDATE … WHERE alerted_at IS NULL) and
    # raised its alert in the same transaction.
    alerted_at = models.DateTimeField(null=True, blank=True)
    alert_id = models.BigIntegerField(null=True, blank=True)  # alerts.Alert, by id (layer 4)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # The monitor's pass: open deadlines not alerted yet, by due time.
            models.Index(
                fields=["due_at"],
                name="deadline_due_open",
                condition=OPEN_DEADLINE & Q(alerted_at__isnull=True),
            ),
            # "Deadlines this week" and a case's page: open deadlines by due time.
            models.Index(
                fields=["organisation", "due_at"], name="deadline_open", condition=OPEN_DEADLINE
            ),
            models.Index(fields=["case", "due_at"], name="deadline_case"),
        ]

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.cancelled_at is None


class Channel(models.TextChoices):
    MOU = "ministry_of_unification", _("Ministry of Unification")
    MOFA = "ministry_of_foreign_affairs", _("Ministry of Foreign Affairs")
    EMBASSY = "embassy_consulate", _("Embassy or consulate")
    UNHCR = "unhcr", _("UNHCR")
    UN_URGENT_APPEAL = "un_urgent_appeal", _("UN urgent appeal")
    WGEID = "wgeid", _("UN Working Group on Enforced or Involuntary Disappearances")
    LAWYER = "lawyer", _("Lawyer")
    PRESS = "press", _("Press")
    OTHER = "other", _("Other")


class Action(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="actions")
    date = models.DateField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    channel = models.CharField(max_length=32, choices=Channel.choices)
    description = EncryptedTextField()
    outcome = models.CharField(max_length=500, blank=True)
    next_step = models.CharField(max_length=500, blank=True)
    next_step_deadline = models.ForeignKey(
        Deadline, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-created_at"]
        indexes = [models.Index(fields=["case", "-date"], name="case_actions")]


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")
    MESSAGE = "message", _("Message")
    LETTER = "letter", _("Letter")


class FamilyContact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="family_contacts")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    how = models.CharField(max_length=16, choices=ContactMethod.choices)
    what_was_told = EncryptedTextField()
    # What the family's status page may show later (staff choose the words).
    can_be_told = EncryptedTextField(blank=True, null=True)
    next_contact_deadline = models.ForeignKey(
        Deadline, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["case", "-at"], name="case_family_contacts")]


class ConsentBasis(models.TextChoices):
    PERSON = "person_consent", _("The person's recorded consent")
    FAMILY = "family_consent", _("The family's recorded consent")
    OVERRIDE = "override", _("Override approved by a supervisor")


class ReferralState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Referral(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=16, unique=True, default=_referral_code, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="referrals")
    from_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    to_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    consent_basis = models.CharField(max_length=16, choices=ConsentBasis.choices)
    # How the family's consent was recorded (who, when, how), or the override's reason.
    consent_note = EncryptedTextField(blank=True, null=True)
    override_reason = EncryptedTextField(blank=True, null=True)
    override_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_approved_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=ReferralState.choices, default=ReferralState.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # Why the receiver accepted or declined (a decline needs one).
    decision_reason = EncryptedTextField(blank=True, null=True)
    # The people sharing grant made when the receiver accepted (people.SharingGrant, by id).
    grant_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        indexes = [
            models.Index(fields=["to_organisation", "state"], name="referral_incoming"),
            models.Index(fields=["from_organisation", "-proposed_at"], name="referral_outgoing"),
        ]


class KindPolicy(models.Model):
    """An organisation's escalation policy for the deadline alerts of one kind of case
    (e.g. detained: the supervisor after one hour unacknowledged). A case's own policy
    comes first; without either, the organisation's standard ladder."""

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=CaseKind.choices)
    policy_id = models.PositiveBigIntegerField()  # alerts.EscalationPolicy, by id

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "kind"], name="case_kind_policy_once")
        ]
