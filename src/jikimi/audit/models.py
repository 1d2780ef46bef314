from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    """One append-only audit row. `row_hash` = SHA-256(previous row's hash ‖ this row).

    No personal data goes here: people are named by their public code, users by id.
    """

    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)  # a user id; null for the system
    organisation_id = models.BigIntegerField(null=True)
    action = models.CharField(max_length=64)  # e.g. person.read, identity.create, login.ok
    object_type = models.CharField(max_length=32, blank=True)
    object_ref = models.CharField(max_length=64, blank=True)  # public code or uuid
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_ref", "id"]), models.Index(fields=["at"])]


class AuditHead(models.Model):
    """A single row naming the end of the chain; locking it serialises appends.

    It also catches deletion of the newest rows, which a chain alone cannot see.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
