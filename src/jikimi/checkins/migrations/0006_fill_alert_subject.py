"""Alerts get a generic subject (person + source) instead of the enrolment, and the
generic ladder's fields, before they move to the alerts app (0007, 0008, alerts.0001-0002).

Every existing alert keeps its row, key, state and acknowledgement history; its subject
is filled from its enrolment (check-in kinds) or from the public code in its detail
(linkage's kinds). Wrong PINs that reached the alert threshold but whose alert the
monitor has not raised yet are marked pending, so the new rule (raise from the recorded
attempt) still raises them.
"""

from django.db import migrations

# A data migration of its own: on PostgreSQL, rows updated in a transaction leave deferred
# foreign key checks that forbid an ALTER TABLE of the same table later in it.
WRONG_ALERT_AT = 3  # services.WRONG_ALERT_AT when this migration was written


def fill_subjects(apps, schema_editor):
    Alert = apps.get_model("checkins", "Alert")
    Enrolment = apps.get_model("checkins", "Enrolment")
    Person = apps.get_model("people", "Person")
    batch = []
    enrolments = {}
    for alert in Alert.objects.only("id", "enrolment_id", "detail").iterator(chunk_size=1000):
        if alert.enrolment_id is not None:
            if alert.enrolment_id not in enrolments:
                enrolments[alert.enrolment_id] = (
                    Enrolment.objects.filter(pk=alert.enrolment_id)
                    .values_list("person_id", "caseworker_id")
                    .first()
                )
            person_id, caseworker_id = enrolments[alert.enrolment_id]
            alert.person_id, alert.assignee_id = person_id, caseworker_id
            alert.source_app, alert.source_ref = "checkins", str(alert.enrolment_id)
        elif isinstance(alert.detail, dict) and alert.detail.get("person"):
            alert.person_id = (
                Person.objects.filter(code=alert.detail["person"])
                .values_list("pk", flat=True)
                .first()
            )
            alert.source_app = "linkage"
        else:
            continue
        batch.append(alert)
        if len(batch) >= 1000:
            Alert.objects.bulk_update(batch, ["person", "assignee", "source_app", "source_ref"])
            batch = []
    if batch:
        Alert.objects.bulk_update(batch, ["person", "assignee", "source_app", "source_ref"])


def mark_pending_wrong_pins(apps, schema_editor):
    Alert = apps.get_model("checkins", "Alert")
    CheckIn = apps.get_model("checkins", "CheckIn")
    Enrolment = apps.get_model("checkins", "Enrolment")
    due = Enrolment.objects.filter(
        status="active", wrong_pins__gte=WRONG_ALERT_AT, wrong_window_start__isnull=False
    )
    for enrolment in due.iterator():
        key = f"wrong_pins:{enrolment.pk}:{enrolment.wrong_window_start.isoformat()}"
        if Alert.objects.filter(key=key).exists():
            continue
        last = (
            CheckIn.objects.filter(
                enrolment_id=enrolment.pk,
                kind__in=("wrong", "locked"),
                at__gte=enrolment.wrong_window_start,
            )
            .order_by("-at", "-id")
            .first()
        )
        if last is None:
            continue
        CheckIn.objects.filter(pk=last.pk).update(
            alert_pending=True, window_start=enrolment.wrong_window_start
        )
        Enrolment.objects.filter(pk=enrolment.pk, version=enrolment.version).update(
            next_action_at=last.at, version=enrolment.version + 1
        )


class Migration(migrations.Migration):
    dependencies = [("checkins", "0005_alert_subject")]

    operations = [
        migrations.RunPython(fill_subjects, migrations.RunPython.noop),
        migrations.RunPython(mark_pending_wrong_pins, migrations.RunPython.noop),
    ]
