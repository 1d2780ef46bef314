"""SharingGrant comes from the accounts app, with its table and index names unchanged:
only Django's state changes (see accounts 0005)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
        ("accounts", "0005_sharinggrant_to_people"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SharingGrant",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("granted_at", models.DateTimeField(auto_now_add=True)),
                        ("reason", models.CharField(max_length=500)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "granted_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "person",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="grants",
                                to="people.person",
                            ),
                        ),
                        (
                            "to_organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="grants_received",
                                to="accounts.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_sharinggrant",
                        "indexes": [
                            models.Index(
                                fields=["to_organisation", "person"],
                                name="accounts_sh_to_orga_a4740a_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
