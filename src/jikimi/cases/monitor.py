"""The monitor's deadline pass: a passed case deadline raises its alert (DESIGN §5).

1. Find open deadlines whose time has come and that raised nothing yet — the partial index
   `deadline_due_open` answers this without reading the other open deadlines.
2. Claim each with a conditional UPDATE (`… WHERE alerted_at IS NULL`): of several monitors
   only one gets the row (on PostgreSQL they also skip each other's locked rows).
3. Raise the alert in the same transaction, through the one alert service, with the
   organisation's escalation policy: the generic ladder (alerts' pass, after this one)
   notifies the responsible worker at once and the supervisors if nobody acknowledges.

The alert's key is `case-deadline:<id>`, deterministic, so a pass repeated after a crash
(or a second monitor) finds the same alert, and its messages carry the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jikimi.accounts.models import Organisation
from jikimi.alerts import services as alerts

from .models import OPEN_DEADLINE, Deadline
from .services import ALERT_KIND, SOURCE_APP

BATCH = 500


@dataclass
class DeadlineReport:
    alerts: int = 0
    skipped: int = 0  # claimed by another monitor first


def alert_key(deadline_id: int) -> str:
    return f"case-deadline:{deadline_id}"


def deadline_pass(options: Mapping[str, Any]) -> dict[str, int]:
    report = run_deadlines()
    return {"case_deadline_alerts": report.alerts}


def run_deadlines(now: datetime | None = None, *, batch: int = BATCH) -> DeadlineReport:
    now = now or timezone.now()
    report = DeadlineReport()
    policies: dict[int, Any] = {}
    while True:
        with transaction.atomic():
            qs = Deadline.objects.filter(
                OPEN_DEADLINE, alerted_at__isnull=True, due_at__lte=now
            ).order_by("due_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = list(qs.select_related("case", "case__person", "case__responsible")[:batch])
            for deadline in rows:
                _raise_for(deadline, now, policies, report)
        if len(rows) < batch:
            return report


def _raise_for(deadline: Deadline, now: datetime, policies: dict, report: DeadlineReport) -> None:
    claimed = Deadline.objects.filter(
        OPEN_DEADLINE, pk=deadline.pk, alerted_at__isnull=True
    ).update(alerted_at=now)
    if not claimed:
        report.skipped += 1
        return
    case = deadline.case
    org_id = case.organisation_id
    if org_id not in policies:
        policies[org_id] = alerts.default_policy(Organisation(pk=org_id))
    alert = alerts.raise_alert(
        organisation_id=org_id,
        kind=ALERT_KIND,
        key=alert_key(deadline.pk),
        # No personal data: codes and ids only (the label is staff's words about a step).
        detail={
            "case": case.code,
            "deadline": deadline.pk,
            "deadline_kind": deadline.kind,
            "due_at": deadline.due_at.isoformat(),
        },
        person=case.person,
        source_app=SOURCE_APP,
        source_ref=case.code,
        assignee=case.responsible,
        priority=min(case.priority, 1),  # a passed deadline is never below "high"
        policy=policies[org_id],
        now=now,
    )
    Deadline.objects.filter(pk=deadline.pk).update(alert_id=alert.pk)
    report.alerts += 1
