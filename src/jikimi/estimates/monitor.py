"""The estimates' monitor pass, light: `jikimi monitor` imports the job runner (NumPy, the
estimation engine) only once there is a job to run or to look after.

With no job queued and none running in this process, `jobs.job_pass` would claim nothing and
return zeros; this pass returns the same zeros after one query, without importing it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils import timezone

from .models import EstimateJob, JobState

IDLE = {"estimate_jobs_finished": 0, "estimate_jobs_failed": 0, "estimate_jobs_started": 0}


def due(now) -> Q:
    """The jobs a monitor may claim: queued, or running on a lease that has run out."""
    return Q(state=JobState.QUEUED) | Q(state=JobState.RUNNING, lease_expires__lt=now)


def job_pass(options: Mapping[str, Any] | None = None) -> dict[str, int]:
    """`jobs.job_pass`, imported only when it has something to do."""
    loaded = sys.modules.get("jikimi.estimates.jobs")
    if (loaded is None or not loaded.running_here()) and not (
        EstimateJob.objects.filter(due(timezone.now())).exists()
    ):
        return dict(IDLE)
    from . import jobs

    return jobs.job_pass(options)
