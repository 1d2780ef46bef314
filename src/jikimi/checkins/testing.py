"""Bulk fixtures for race tests and benchmarks (not used in production)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from jikimi.people.testing import make_people

from . import pins
from .models import Enrolment, EnrolmentStatus, Phase


def make_enrolments(
    *,
    organisation,
    caseworker,
    policy,
    total: int,
    due: int,
    now: datetime,
    grace_minutes: int = 60,
    batch: int = 2000,
) -> list[Enrolment]:
    """`total` active enrolments with PINs 2580/1397, of which `due` are past their grace.

    Rows are bulk-inserted (no audit, no encryption work): this is for measuring the
    monitor, not for making believable people.
    """
    made: list[Enrolment] = []
    with transaction.atomic():
        for start in range(0, total, batch):
            count = min(batch, total - start)
            persons = make_people(organisation, count, batch=batch)
            rows = []
            for i, person in enumerate(persons):
                n = start + i
                is_due = n < due
                next_due = (
                    now - timedelta(minutes=grace_minutes + 1)
                    if is_due
                    else now + timedelta(hours=1 + n % 24)
                )
                e = Enrolment(
                    person=person,
                    organisation=organisation,
                    caseworker=caseworker,
                    policy=policy,
                    status=EnrolmentStatus.ACTIVE,
                    phase=Phase.GRACE if is_due else Phase.WAITING,
                    interval_hours=24,
                    grace_minutes=grace_minutes,
                    channels=["web"],
                    next_due_at=next_due,
                    next_action_at=next_due + timedelta(minutes=grace_minutes)
                    if is_due
                    else next_due,
                )
                e.pin_hash = pins.hash_pin(e.pk, "2580")
                e.duress_hash = pins.hash_pin(e.pk, "1397")
                rows.append(e)
            Enrolment.objects.bulk_create(rows, batch_size=batch)
            made += rows
    return made
