"""The monitor's deadline pass: a passed case deadline raises its alert (DESIGN §5).

1. Find open deadlines whose time has come and that raised nothing yet — the partial index
   `deadline_due_open` answers this without reading the other open deadlines.
2. Claim each with a conditional UPDATE (`… WHERE alerted_at IS NULL`): of several monitors
   only one gets the row (on PostgreSQL they also skip each other's locked rows).
3. Raise the alert in the same transaction, through the one alert service, with the
   case's escalation policy: the one the case names, else the one its organisation set for
   the case's kind (e.g. detained: supervisors after one hour), else the organisation's
   standard ladder. The generic ladder (alerts' pass, after this one) notifies the
   responsible worker at once and the supervisors if nobody acknowledges.

The alert's key is `case-deadline:<id>`, deterministic, so a pass repeated after a crash
(or a second monitor) finds the same alert, and its messages carry the same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case as When_
from django.db.models import Value, When
from django.utils import timezone

from jikimi.accounts.models import Organisation
from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert
from jikimi.audit import services as audit
from jikimi.core.sql import column

from .models import ALERT_KIND, OPEN_DEADLINE, Deadline
from .services import SOURCE_APP, kind_policies

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
    """Every due deadline, `batch` at a time, each batch in one transaction."""
    now = now or timezone.now()
    report = DeadlineReport()
    policies: dict[Any, Any] = {}  # organisation id → standard; ("id", pk) → a named one
    while True:
        with transaction.atomic():
            qs = Deadline.objects.filter(
                OPEN_DEADLINE, alerted_at__isnull=True, due_at__lte=now
            ).order_by("due_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True, of=("self",))
            rows = list(qs.select_related("case", "case__person", "case__responsible")[:batch])
            if rows:
                _raise_batch(rows, now, policies, report)
        if len(rows) < batch:
            return report


def claim(ids: list[int], now: datetime) -> set[int]:
    """`UPDATE … SET alerted_at = now WHERE id IN (…) AND still open and not alerted
    RETURNING id`: the rows this monitor got (another may have claimed some meanwhile —
    on SQLite nothing locks them between the SELECT and here)."""
    if not ids:
        return set()
    q = connection.ops.quote_name
    c = {name: q(column(Deadline, name)) for name in ("id", "alerted_at", "met_at", "cancelled_at")}
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {q(Deadline._meta.db_table)} SET {c['alerted_at']} = %s"  # noqa: S608
        f" WHERE {c['id']} IN ({marks}) AND {c['alerted_at']} IS NULL"
        f" AND {c['met_at']} IS NULL AND {c['cancelled_at']} IS NULL RETURNING {c['id']}"
    )
    stamp = Deadline._meta.get_field("alerted_at").get_db_prep_save(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [stamp, *ids])
        return {row[0] for row in cursor.fetchall()}


def _raise_batch(
    rows: list[Deadline], now: datetime, policies: dict, report: DeadlineReport
) -> None:
    """Claim, raise (one INSERT … ON CONFLICT DO NOTHING for the batch), link each deadline
    to its alert, and write one audit row per organisation: all in the caller's
    transaction, so a crash leaves the deadlines unclaimed and the next pass redoes it
    with the same keys."""
    got = claim([d.pk for d in rows], now)
    report.skipped += len(rows) - len(got)
    by_kind = kind_policies({d.case.organisation_id for d in rows if d.pk in got})
    named = {d.case.escalation_policy_id for d in rows if d.pk in got} | set(by_kind.values())
    wanted = {pk for pk in named if pk and ("id", pk) not in policies}
    for pk, found in alerts.policies_by_id(wanted).items():
        policies[("id", pk)] = found
    new: list[Alert] = []
    for deadline in rows:
        if deadline.pk not in got:
            continue
        case = deadline.case
        org_id = case.organisation_id
        if org_id not in policies:
            policies[org_id] = alerts.default_policy(Organisation(pk=org_id))
        chosen = case.escalation_policy_id or by_kind.get((org_id, case.kind))
        policy = policies.get(("id", chosen))
        if policy is None or policy.organisation_id != org_id:
            policy = policies[org_id]  # none named, or gone: the standard ladder
        new.append(
            alerts.new_alert(
                organisation_id=org_id,
                kind=ALERT_KIND,
                key=alert_key(deadline.pk),
                # No personal data: codes and ids only.
                detail={
                    "case": case.code,
                    "deadline": deadline.pk,
                    "deadline_kind": deadline.kind,
                    "due_at": deadline.due_at.isoformat(),
                },
                now=now,
                person=case.person,
                source_app=SOURCE_APP,
                source_ref=case.code,
                assignee=case.responsible,
                priority=min(case.priority, 1),  # a passed deadline is never below "high"
                policy=policy,
            )
        )
    if not new:
        return
    raised = alerts.raise_alerts(new)
    ids = {a.key: a.pk for a in raised}
    missing = [a.key for a in new if a.key not in ids]
    if missing:  # raised before (a repeat): link the deadline to the alert that exists
        ids.update(alerts.alert_ids_for_keys(missing))
    by_deadline = {int(key.rsplit(":", 1)[1]): pk for key, pk in ids.items()}
    Deadline.objects.filter(pk__in=list(by_deadline)).update(
        alert_id=When_(*(When(pk=d, then=Value(a)) for d, a in by_deadline.items()))
    )
    by_org: dict[int, list[int]] = {}
    for alert in raised:
        by_org.setdefault(alert.organisation_id, []).append(alert.pk)
    for org_id, alert_ids in by_org.items():
        audit.record(
            "checkin_alert.raise",
            object_type="checkin_alert",
            object_ref=str(alert_ids[0]),
            organisation_id=org_id,
            detail={"kinds": {ALERT_KIND: len(alert_ids)}, "alerts": alert_ids},
        )
    report.alerts += len(raised)
