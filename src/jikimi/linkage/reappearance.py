"""Reappearance: a link to a person who is missing or detained, or has an open check-in
alert, tells that person's staff.

Every place linkage reads check-in alerts is here, each a small function (`has_open_checkin_
alert`, `_current_risk`, `_open_checkin_alert` for the review queue's order): the alerts app
replaces them with calls of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef

from jikimi.audit import services as audit
from jikimi.people.models import Person

from .models import PersonLink

#: A link to a person in one of these states raises a reappearance alert.
REAPPEARANCE_STATUSES = ("missing", "detained")
REAPPEARANCE_ALERT_KIND = "reappearance"


def has_open_checkin_alert(person: Person) -> bool:
    from jikimi.checkins.models import Alert, AlertState

    return Alert.objects.filter(
        enrolment__person=person,
        state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
        is_drill=False,
    ).exists()


def _current_risk(people: Sequence[Person]) -> dict[Any, tuple[str, bool]]:
    """Status and "has an open check-in alert" of `people`, read now in one statement.

    `has_open_checkin_alert` as SQL written once: this runs for every link a batch creates,
    and compiling the same query through the ORM cost more than running it. Only ids and
    fixed states are parameters; table and column names come from the models.
    """
    from jikimi.checkins.models import Alert, AlertState, Enrolment

    def column(model: Any, name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    pk = Person._meta.pk
    ids = [pk.get_db_prep_value(p.pk, connection) for p in people]
    person_id = f"p.{connection.ops.quote_name(pk.column)}"
    enrolment_id = f"e.{connection.ops.quote_name(Enrolment._meta.pk.column)}"
    # Names from the models and "%s" marks only: nothing from the data reaches the text.
    alert = (
        f"SELECT 1 FROM {table(Alert)} a INNER JOIN {table(Enrolment)} e"  # noqa: S608
        f" ON a.{column(Alert, 'enrolment')} = {enrolment_id}"
        f" WHERE e.{column(Enrolment, 'person')} = {person_id}"
        f" AND a.{column(Alert, 'state')} IN (%s, %s) AND a.{column(Alert, 'is_drill')} = %s"
    )
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {person_id}, p.{column(Person, 'status')}, EXISTS ({alert})"  # noqa: S608
        f" FROM {table(Person)} p WHERE {person_id} IN ({marks})"
    )
    params = [AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value, False, *ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk.to_python(row[0]): (row[1], bool(row[2])) for row in cursor.fetchall()}


def _raise_reappearance(link: PersonLink, a: Person, b: Person) -> None:
    """A record now linked to a missing or detained person: tell that person's staff.

    The status and the check-in alerts of both people are read now, in one query (the rows
    in hand may be seconds old in a batch). The key names the pair, so the alert is raised
    once however often the pair is linked, unlinked and linked again, and whichever process
    gets there first.
    """
    from jikimi.checkins import services as checkins

    current = _current_risk([a, b])
    for person, other in ((a, b), (b, a)):
        status, alert = current.get(person.pk, (person.status, False))
        if status not in REAPPEARANCE_STATUSES and not alert:
            continue
        checkins.raise_staff_alert(
            organisation_id=person.organisation_id,
            kind=REAPPEARANCE_ALERT_KIND,
            key=f"reappearance:{person.code}:{other.code}",
            detail={
                "person": person.code,
                "linked_person": other.code,
                "status": status,
                "link": str(link.pk),
                "method": link.method,
                **({"score": round(link.score, 4)} if link.score is not None else {}),
            },
        )
        audit.record(
            "linkage.reappearance",
            organisation_id=person.organisation_id,
            object_type="person",
            object_ref=person.code,
            detail={"linked_person": other.code, "link": str(link.pk)},
        )


def _open_checkin_alert(person: str) -> Exists:
    """SQL for `has_open_checkin_alert` of the pair's `person` ("person_a" or "person_b")."""
    from jikimi.checkins.models import Alert, AlertState

    return Exists(
        Alert.objects.filter(
            enrolment__person=OuterRef(person),
            state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
            is_drill=False,
        )
    )
