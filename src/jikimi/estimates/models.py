"""Background estimate jobs: a long estimate (bootstrap, BMA, LCMCR) runs in the monitor.

A job is what the page or the API asked (``params``, the same values ``inapp.check_request``
takes), who asked, and how far it is. ``jikimi monitor`` claims a queued job with a
conditional UPDATE that stamps its ``worker`` and a ``lease_expires`` (as the outbox does),
runs it in a child process and renews the lease while it runs; a job whose monitor died is
running with an expired lease, and the next monitor claims it again. Results are aggregate
figures (no personal data), but a job belongs to an organisation: another's is not found.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


FINISHED_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class EstimateJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="estimate_jobs"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="estimate_jobs"
    )
    params = models.JSONField()  # lists, method, level, stratify_by, seed, interval
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.FloatField(default=0.0)  # 0..1
    stage = models.CharField(max_length=32, blank=True)  # a key of jobs.STAGE_LABELS
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The Estimate JSON of DESIGN §8 (total, strata), its messages in English.
    result = models.JSONField(null=True, blank=True)
    # Everything the page shows (tables, details, messages kept translatable): JSON text,
    # which may hold Infinity (an open interval), as neither PostgreSQL's jsonb nor JSON does.
    outcome = models.TextField(blank=True)
    # A failure: {"field": name or null, "message": a packed message} (jobs.error_text).
    error = models.JSONField(null=True, blank=True)
    worker = models.CharField(max_length=64, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "lease_expires"], name="estimates_job_due"),
            models.Index(fields=["organisation", "-created_at"], name="estimates_job_org"),
        ]

    def __str__(self) -> str:
        return f"estimate job {self.id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES
