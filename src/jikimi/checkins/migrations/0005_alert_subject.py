"""Alerts get a generic subject (person + source) beside the enrolment, and the generic
ladder's fields (0006 fills the subject, 0007 drops the enrolment, 0008 moves the models
to the alerts app)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkins", "0004_ip_strikes"),
        ("people", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="person",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="people.person",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="source_app",
            field=models.CharField(blank=True, default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="alert",
            name="source_ref",
            field=models.CharField(blank=True, default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="alert",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="policy",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="checkins.escalationpolicy",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="escalation_step",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="alert",
            name="reminder_round",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="alert",
            name="last_notified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="alert",
            name="next_escalation_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Kinds are registered by each app now (alerts.registry), not model choices.
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(max_length=20),
        ),
        migrations.AddField(
            model_name="checkin",
            name="window_start",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
