"""raise_alert, the board's access rules, acknowledgement and closing, the at-risk set."""

from __future__ import annotations

import pytest
from django.db import transaction

from jikimi.accounts.services import AccessDenied
from jikimi.alerts import services
from jikimi.alerts.models import Alert, AlertState
from jikimi.alerts.registry import register_kind
from jikimi.audit.models import AuditEvent
from jikimi.notify.models import OutboxMessage
from jikimi.people.services import InvalidInput, NotFound

pytestmark = pytest.mark.django_db


def _raise(staff, person=None, *, key="k1", kind="test_deadline", **kw):
    return services.raise_alert(
        organisation_id=staff["caseworker"].organisation_id,
        kind=kind,
        key=key,
        detail={"case": "C-1"},
        person=person,
        assignee=staff["caseworker"],
        **kw,
    )


def test_it_raises_once_per_key(mailed_staff, person, deadline_kind):
    first = _raise(mailed_staff, person)
    messages = OutboxMessage.objects.count()
    assert messages >= 2  # supervisors, admin and the assignee hear at once
    again = _raise(mailed_staff, person)
    assert again.pk == first.pk
    assert Alert.objects.count() == 1 and OutboxMessage.objects.count() == messages
    assert first.priority == deadline_kind.priority
    assert AuditEvent.objects.filter(action="checkin_alert.raise").count() == 1


def test_a_repeat_leaves_the_callers_transaction_usable(staff, person, deadline_kind):
    _raise(staff, person)
    with transaction.atomic():
        _raise(staff, person)  # the unique key fails inside its own savepoint
        assert Alert.objects.count() == 1  # and the outer transaction still works


def test_it_refuses_a_kind_nobody_registered(staff):
    with pytest.raises(KeyError, match="not registered"):
        _raise(staff, kind="no_such_kind")


def test_a_kind_cannot_be_registered_twice_differently(deadline_kind):
    register_kind("test_deadline", "Case deadline", priority=1, person_at_risk=True)  # same
    with pytest.raises(ValueError, match="differently"):
        register_kind("test_deadline", "Case deadline", priority=3)


def test_it_shows_the_board_only_to_staff_of_the_organisation(staff, person, deadline_kind):
    alert = _raise(staff, person)
    assert [a.pk for a in services.alert_board(staff["supervisor"])] == [alert.pk]
    assert services.alert_board(staff["outsider"]) == []
    with pytest.raises(NotFound):
        services.get_alert(staff["outsider"], alert.pk)
    with pytest.raises(NotFound):
        services.acknowledge(staff["outsider"], alert)
    with pytest.raises(NotFound):
        services.close(staff["outsider"], alert, reason="not mine")
    with pytest.raises(AccessDenied):
        services.alert_board(staff["analyst"])
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_it_acknowledges_and_closes_with_a_reason(staff, person, deadline_kind):
    alert = _raise(staff, person)
    acked = services.acknowledge(staff["caseworker"], alert)
    assert acked.state == AlertState.ACKNOWLEDGED and acked.acknowledged_by == staff["caseworker"]
    assert acked.escalation_stopped_at is not None and acked.stopped_by == "ack"
    with pytest.raises(InvalidInput):
        services.close(staff["caseworker"], alert, reason="  ")
    closed = services.close(staff["supervisor"], alert, reason="deadline met")
    assert closed.state == AlertState.CLOSED and closed.close_reason == "deadline met"
    assert closed.acknowledged_by == staff["caseworker"]  # the history stays
    assert services.alert_board(staff["caseworker"]) == []
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"checkin_alert.acknowledge", "checkin_alert.close"} <= actions
    # The audit rows name the kind, never the person.
    for event in AuditEvent.objects.filter(action__startswith="checkin_alert."):
        assert "김철수" not in str(event.detail)


def test_people_with_open_alerts_counts_live_at_risk_alerts_only(staff, person, deadline_kind):
    from jikimi.people import services as people

    other = people.create_person(staff["caseworker"], name="이영희")
    drill = people.create_person(staff["caseworker"], name="박민수")
    assert services.people_with_open_alerts([person.pk, other.pk]) == set()
    alert = _raise(staff, person)
    _raise(staff, drill, key="k-drill", is_drill=True)
    # A kind that does not put a person at risk (a channel failure, say) is not counted.
    _raise(staff, other, key="k-channel", kind="channel_failure")
    ids = [person.pk, other.pk, drill.pk]
    assert services.people_with_open_alerts(ids) == {person.pk}
    services.acknowledge(staff["caseworker"], alert)
    assert services.people_with_open_alerts(ids) == {person.pk}  # acknowledged: still live
    services.close(staff["caseworker"], alert, reason="found safe")
    assert services.people_with_open_alerts(ids) == set()


def test_open_alert_exists_is_the_same_test_in_sql(staff, person, deadline_kind):
    from jikimi.people.models import Person

    _raise(staff, person)
    flagged = Person.objects.annotate(alert=services.open_alert_exists("pk")).filter(alert=True)
    assert list(flagged.values_list("pk", flat=True)) == [person.pk]
