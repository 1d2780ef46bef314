"""SharingGrant moves to the people app (DESIGN §2: accounts is below people and must not
know Person). Only Django's state changes; the table stays `accounts_sharinggrant`, and
people 0002 takes the model over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_convert_drf_tokens"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SharingGrant")],
            database_operations=[],
        ),
    ]
