"""Return determinations (DESIGN §5): the models of `incidents.determinations`.

Imported (and re-exported) by `incidents.models`, so Django sees them as the incidents app's
models; the foreign keys name the app's other models by string, so this module imports
nothing from `models` (no cycle).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jikimi.core.fields import EncryptedTextField


class Confidence(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class Stance(models.TextChoices):
    SUPPORTS = "supports", _("Supports")
    CONTRADICTS = "contradicts", _("Contradicts")


class ReturnDetermination(models.Model):
    """One revision of the finding on why a returnee went back to the North. Every revision
    is a row (never updated); `current` flags the newest of a person's revisions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField()
    current = models.BooleanField(default=True)
    determination = models.ForeignKey("incidents.Term", on_delete=models.PROTECT, related_name="+")
    confidence = models.CharField(max_length=8, choices=Confidence.choices)
    rationale = EncryptedTextField()
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "person", "revision"], name="unique_determination_rev"
            ),
            models.UniqueConstraint(
                fields=["organisation", "person"],
                condition=models.Q(current=True),
                name="one_current_determination",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "current", "determination"])]


class DeterminationLink(models.Model):
    """An act or a source's information that supports or contradicts one reading."""

    determination = models.ForeignKey(
        ReturnDetermination, on_delete=models.CASCADE, related_name="links"
    )
    reading = models.ForeignKey("incidents.Term", on_delete=models.PROTECT, related_name="+")
    stance = models.CharField(max_length=12, choices=Stance.choices)
    act = models.ForeignKey(
        "incidents.Act", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    information = models.ForeignKey(
        "incidents.Information", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(act__isnull=False) | models.Q(information__isnull=False),
                name="determination_link_has_target",
            )
        ]
