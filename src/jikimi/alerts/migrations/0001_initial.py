"""Alert, Task and EscalationPolicy, taken over from checkins (checkins.0005-0008) with
their tables and rows as they are: state only here; 0002 renames the tables."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        # The tables exist, in their final shape, once checkins has dropped the enrolment.
        ("checkins", "0007_alert_without_enrolment"),
        ("accounts", "0002_initial"),
        ("people", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="EscalationPolicy",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        ("remind_person_at_due", models.BooleanField(default=True)),
                        ("steps", models.JSONField(default=list)),
                        ("repeat_minutes", models.PositiveIntegerField(default=60)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="escalation_policies",
                                to="accounts.organisation",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["name"],
                        "db_table": "checkins_escalationpolicy",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("organisation", "name"), name="policy_name_once"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Alert",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("source_app", models.CharField(blank=True, max_length=32)),
                        ("source_ref", models.CharField(blank=True, max_length=64)),
                        ("kind", models.CharField(max_length=20)),
                        ("priority", models.PositiveSmallIntegerField()),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("open", "Open"),
                                    ("acknowledged", "Acknowledged"),
                                    ("closed", "Closed"),
                                ],
                                default="open",
                                max_length=16,
                            ),
                        ),
                        ("key", models.CharField(max_length=200, unique=True)),
                        ("is_drill", models.BooleanField(default=False)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField()),
                        ("escalation_stopped_at", models.DateTimeField(blank=True, null=True)),
                        ("stopped_by", models.CharField(blank=True, max_length=16)),
                        ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        ("close_reason", models.CharField(blank=True, max_length=500)),
                        ("escalation_step", models.PositiveSmallIntegerField(default=0)),
                        ("reminder_round", models.PositiveIntegerField(default=0)),
                        ("last_notified_at", models.DateTimeField(blank=True, null=True)),
                        ("next_escalation_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="accounts.organisation",
                            ),
                        ),
                        (
                            "person",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="people.person",
                            ),
                        ),
                        (
                            "assignee",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "acknowledged_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "closed_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "policy",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="alerts.escalationpolicy",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["priority", "created_at"],
                        "db_table": "checkins_alert",
                        "indexes": [
                            models.Index(
                                fields=["organisation", "state", "priority", "created_at"],
                                name="alert_board",
                            ),
                            models.Index(fields=["source_app", "source_ref"], name="alert_source"),
                            models.Index(
                                fields=["next_escalation_at"], name="alert_next_escalation"
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Task",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("kind", models.CharField(default="notify_authorities", max_length=32)),
                        ("created_at", models.DateTimeField()),
                        ("done_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "alert",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="tasks",
                                to="alerts.alert",
                            ),
                        ),
                        (
                            "done_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "checkins_task",
                        "constraints": [
                            models.UniqueConstraint(fields=("alert", "kind"), name="task_once")
                        ],
                    },
                ),
            ],
        ),
    ]
