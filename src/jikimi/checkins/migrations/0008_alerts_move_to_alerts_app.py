"""Alert, Task and EscalationPolicy now belong to the alerts app: state only, the rows stay
where they are (alerts.0001 takes them over with the same tables, alerts.0002 renames the
tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkins", "0007_alert_without_enrolment"),
        ("alerts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="enrolment",
                    name="open_alert",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="alerts.alert",
                    ),
                ),
                migrations.AlterField(
                    model_name="enrolment",
                    name="policy",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="alerts.escalationpolicy",
                    ),
                ),
                migrations.DeleteModel(name="Task"),
                migrations.DeleteModel(name="Alert"),
                migrations.DeleteModel(name="EscalationPolicy"),
            ],
            database_operations=[],
        ),
    ]
