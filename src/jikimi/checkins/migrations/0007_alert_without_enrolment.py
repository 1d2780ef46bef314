"""The alert no longer names a check-ins enrolment (its subject is generic, see 0005)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("checkins", "0006_fill_alert_subject")]

    operations = [
        # Reversed, the column comes back empty: 0006 cannot refill it (nothing to undo).
        migrations.RemoveField(model_name="alert", name="enrolment"),
        migrations.RenameIndex(
            model_name="alert", new_name="alert_board", old_name="checkins_al_organis_57dc1a_idx"
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["source_app", "source_ref"], name="alert_source"),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["next_escalation_at"], name="alert_next_escalation"),
        ),
    ]
