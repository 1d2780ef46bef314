"""The tables taken over from checkins get the alerts app's names (rows, ids, keys and
foreign keys pointing at them are kept: a rename, not a copy)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        # checkins' state no longer holds these models (nor points at them by the old app).
        ("checkins", "0008_alerts_move_to_alerts_app"),
    ]

    operations = [
        migrations.AlterModelTable(name="escalationpolicy", table=None),
        migrations.AlterModelTable(name="alert", table=None),
        migrations.AlterModelTable(name="task", table=None),
    ]
