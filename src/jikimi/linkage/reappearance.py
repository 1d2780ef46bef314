"""Reappearance: a link to a person who is missing or detained, or has an open check-in
alert, tells that person's staff.

Every place linkage reads alerts is here, each a small function (`has_open_checkin_alert`,
`_current_risk`, `_open_checkin_alert` for the review queue's order), each a call into the
alerts app (`people_with_open_alerts`, `open_alert_exists`, `raise_alert`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Exists

from jikimi.audit import services as audit
from jikimi.core.sql import column_of, concrete_field
from jikimi.people.models import Person

from .models import PersonLink

#: A link to a person in one of these states raises a reappearance alert.
REAPPEARANCE_STATUSES = ("missing", "detained")
REAPPEARANCE_ALERT_KIND = "reappearance"


def has_open_checkin_alert(person: Person) -> bool:
    from jikimi.alerts import services as alerts

    return bool(alerts.people_with_open_alerts([person.pk]))


def _current_risk(people: Sequence[Person]) -> dict[Any, tuple[str, bool]]:
    """Status and "has an open check-in alert" of `people`, read now.

    The status as SQL written once: this runs for every link a batch creates, and
    compiling the same query through the ORM cost more than running it. Only ids are
    parameters; table and column names come from the model. The alerts are the alerts
    app's answer (`people_with_open_alerts`: open alerts of the kinds that put a person
    at risk, e.g. a missed check-in).
    """
    from jikimi.alerts import services as alerts

    q = connection.ops.quote_name
    pk = concrete_field(Person, "id")
    ids = [pk.get_db_prep_value(p.pk, connection) for p in people]
    person_id = q(column_of(pk))
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {person_id}, {q(column_of(concrete_field(Person, 'status')))}"  # noqa: S608
        f" FROM {q(Person._meta.db_table)} WHERE {person_id} IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        statuses = {pk.to_python(row[0]): row[1] for row in cursor.fetchall()}
    at_risk = alerts.people_with_open_alerts(statuses)
    return {person: (status, person in at_risk) for person, status in statuses.items()}


def _raise_reappearance(link: PersonLink, a: Person, b: Person) -> None:
    """A record now linked to a missing or detained person: tell that person's staff.

    The status and the check-in alerts of both people are read now, in one query (the rows
    in hand may be seconds old in a batch). The key names the pair, so the alert is raised
    once however often the pair is linked, unlinked and linked again, and whichever process
    gets there first.
    """
    from jikimi.alerts import services as alerts

    current = _current_risk([a, b])
    for person, other in ((a, b), (b, a)):
        status, alert = current.get(person.pk, (person.status, False))
        if status not in REAPPEARANCE_STATUSES and not alert:
            continue
        alerts.raise_alert(
            organisation_id=person.organisation_id,
            person=person,
            source_app="linkage",
            source_ref=str(link.pk),
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
    from jikimi.alerts import services as alerts

    return alerts.open_alert_exists(person)
