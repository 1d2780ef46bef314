"""A database at the old head (alerts in checkins) migrates forward keeping every alert,
its key, state, acknowledgement history and tasks; the alerts get their generic subject."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

# The head before the alerts app existed.
OLD = [("checkins", "0004_ip_strikes"), ("alerts", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_it_keeps_every_alert_and_its_history(staff):
    from jikimi.people import services as people

    cw, supervisor = staff["caseworker"], staff["supervisor"]
    person = people.create_person(cw, name="김철수")
    missing = people.create_person(cw, name="이영희")
    now = timezone.now().replace(microsecond=0)

    old = _migrate(OLD).loader.project_state(OLD[:1]).apps
    Policy = old.get_model("checkins", "EscalationPolicy")
    Enrolment = old.get_model("checkins", "Enrolment")
    Alert = old.get_model("checkins", "Alert")
    Task = old.get_model("checkins", "Task")
    CheckIn = old.get_model("checkins", "CheckIn")
    policy = Policy.objects.create(organisation_id=cw.organisation_id, name="standard", steps=[])
    enrolment = Enrolment.objects.create(
        person_id=person.pk,
        organisation_id=cw.organisation_id,
        caseworker_id=cw.pk,
        policy=policy,
        status="active",
        phase="escalating",
        # Three wrong PINs whose alert the old monitor had not raised yet.
        wrong_pins=3,
        wrong_window_start=now - timedelta(minutes=40),
    )
    CheckIn.objects.create(
        enrolment=enrolment, at=now - timedelta(minutes=39), kind="wrong", channel="web"
    )
    missed = Alert.objects.create(
        organisation_id=cw.organisation_id,
        enrolment=enrolment,
        kind="missed",
        priority=1,
        key=f"missed:{enrolment.pk}:2026-11-30T09:00:00+00:00",
        created_at=now - timedelta(hours=3),
        state="acknowledged",
        acknowledged_at=now - timedelta(hours=2),
        acknowledged_by_id=supervisor.pk,
        escalation_stopped_at=now - timedelta(hours=2),
        stopped_by="ack",
        detail={"due": "2026-11-30T09:00:00+00:00"},
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(open_alert=missed)
    Task.objects.create(alert=missed, created_at=now - timedelta(hours=1))
    closed = Alert.objects.create(
        organisation_id=cw.organisation_id,
        enrolment=enrolment,
        kind="duress",
        priority=0,
        key="duress:41",
        created_at=now - timedelta(days=1),
        state="closed",
        closed_at=now - timedelta(hours=20),
        closed_by_id=cw.pk,
        close_reason="met the person; safe",
    )
    reappearance = Alert.objects.create(
        organisation_id=cw.organisation_id,
        kind="reappearance",
        priority=1,
        key=f"reappearance:{missing.code}:P-XXXX-XXXX",
        created_at=now,
        detail={"person": missing.code, "linked_person": "P-XXXX-XXXX"},
    )
    channel = Alert.objects.create(
        organisation_id=cw.organisation_id,
        kind="channel_failure",
        priority=2,
        key="channel_failure:1:sms:7:2026113009",
        created_at=now,
    )

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    from jikimi.alerts.models import Alert as NewAlert
    from jikimi.alerts.models import EscalationPolicy as NewPolicy
    from jikimi.alerts.models import Task as NewTask
    from jikimi.checkins.models import CheckIn as NewCheckIn
    from jikimi.checkins.models import Enrolment as NewEnrolment

    assert NewAlert._meta.db_table == "alerts_alert"
    assert NewAlert.objects.count() == 4
    m = NewAlert.objects.get(pk=missed.pk)
    assert (m.key, m.kind, m.priority, m.state) == (missed.key, "missed", 1, "acknowledged")
    assert (m.acknowledged_at, m.acknowledged_by_id) == (missed.acknowledged_at, supervisor.pk)
    assert (m.escalation_stopped_at, m.stopped_by) == (missed.escalation_stopped_at, "ack")
    assert m.detail == {"due": "2026-11-30T09:00:00+00:00"}
    # The subject, from the enrolment.
    assert (m.person_id, m.source_app, m.source_ref) == (person.pk, "checkins", str(enrolment.pk))
    assert m.assignee_id == cw.pk
    assert list(NewTask.objects.filter(alert=m).values_list("kind", flat=True)) == [
        "notify_authorities"
    ]
    c = NewAlert.objects.get(pk=closed.pk)
    assert (c.key, c.state, c.closed_by_id, c.close_reason) == (
        "duress:41",
        "closed",
        cw.pk,
        "met the person; safe",
    )
    r = NewAlert.objects.get(pk=reappearance.pk)
    assert (r.person_id, r.source_app) == (missing.pk, "linkage")
    ch = NewAlert.objects.get(pk=channel.pk)
    assert ch.person_id is None and ch.source_app == "" and ch.key == channel.key
    # Foreign keys into the moved tables still hold.
    e = NewEnrolment.objects.get(pk=enrolment.pk)
    assert e.open_alert_id == missed.pk and e.policy_id == policy.pk
    assert NewPolicy.objects.get(pk=policy.pk).name == "standard"
    # The pending wrong PINs are owed from the recorded attempt now.
    wrong = NewCheckIn.objects.get(enrolment=e)
    assert wrong.alert_pending and wrong.window_start == enrolment.wrong_window_start
    assert e.next_action_at == wrong.at
    # New alerts get new ids after the old ones (the sequence came along with the table).
    from jikimi.alerts import services

    new = services.raise_alert(
        organisation_id=cw.organisation_id, kind="channel_failure", key="after", detail={}
    )
    assert new.pk > max(missed.pk, closed.pk, reappearance.pk, channel.pk)
