"""Same-person links between people and the review queue (DESIGN §1, §6).

Nothing is merged: a link joins two Person rows and can be undone (unlinked) with a reason;
both rows and their identities stay as they were. A pair is stored once, with the smaller
primary key as `person_a`, so (A, B) and (B, A) are the same pair.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jikimi.core.fields import EncryptedTextField


class LinkMethod(models.TextChoices):
    AUTO = "auto", _("Automatic (model score)")
    REVIEW = "review", _("Confirmed in review")


class PersonLink(models.Model):
    """A reversible same-person link with who, when and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person_a = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=8, choices=LinkMethod.choices)
    score = models.FloatField(null=True, blank=True)  # match probability when scored
    # Comparison level per field (e.g. {"given_name": "keys_intersect"}): no personal data.
    levels = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A reviewer's words may name people, so they are encrypted like identities.
    reason = EncryptedTextField(blank=True, null=True)
    unlinked_at = models.DateTimeField(null=True, blank=True)
    unlinked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    unlink_reason = EncryptedTextField(blank=True, null=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one live link per pair; unlinked ones stay as history.
            models.UniqueConstraint(
                fields=["person_a", "person_b"],
                condition=Q(unlinked_at__isnull=True),
                name="one_live_link_per_pair",
            )
        ]
        indexes = [models.Index(fields=["person_b", "person_a"])]

    @property
    def is_live(self) -> bool:
        return self.unlinked_at is None


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")


class ReviewItem(models.Model):
    """A candidate pair between the thresholds, waiting for a person to decide."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person_a = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    person_b = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    levels = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    link = models.ForeignKey(
        PersonLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-score", "created_at"]
        constraints = [
            # One item per pair, ever: a rejection is a decision the model must not reopen.
            models.UniqueConstraint(fields=["person_a", "person_b"], name="one_review_per_pair")
        ]
        # The queue page: pending items by score.
        indexes = [models.Index(fields=["status", "-score"])]
