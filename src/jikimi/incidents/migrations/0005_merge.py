"""Joins the branches of the incidents migrations written side by side (the act-list
indexes, return determinations, evidence); no operation of its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_link_indexes_by_filter"),
        ("incidents", "0003_return_determinations"),
        ("incidents", "0004_evidence"),
    ]

    operations = []
