"""Seed the vocabularies and the gazetteer from jikimi.lib.gazetteer's data files.

The same function runs after every migrate (apps.py), so entries added to the data files
later appear without a new migration; both are idempotent.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from jikimi.incidents.seeding import seed as seed_all

    seed_all(apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
