"""Index every stored name under its typo keys too (jikimi.lib.fuzzy_names), so that people
recorded before the upgrade are found with one typing error. Idempotent: an identity's rows
that exist are kept. `jikimi reindex` does the same (and more) at any time."""

from django.db import migrations

BATCH = 500


def index_typo_keys(apps, schema_editor):
    from jikimi.core.crypto import blind_index
    from jikimi.lib.fuzzy_names import typo_keys

    Identity = apps.get_model("people", "Identity")
    IdentityIndex = apps.get_model("people", "IdentityIndex")
    names = Identity.objects.filter(kind="name").select_related("person").order_by("pk")
    last = None
    while True:
        batch = list((names.filter(pk__gt=last) if last is not None else names)[:BATCH])
        if not batch:
            return
        existing = set(
            IdentityIndex.objects.filter(identity__in=batch).values_list("identity_id", "digest")
        )
        IdentityIndex.objects.bulk_create(
            IdentityIndex(
                identity=ident,
                person=ident.person,
                organisation_id=ident.person.organisation_id,
                digest=digest,
            )
            for ident in batch
            # "name_typo" is people.services.TYPO_INDEX_KIND, fixed here as it was when
            # this migration was written.
            for digest in {blind_index("name_typo", key) for key in typo_keys(ident.value)}
            if (ident.pk, digest) not in existing
        )
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("people", "0002_sharinggrant_from_accounts")]

    operations = [migrations.RunPython(index_typo_keys, migrations.RunPython.noop)]
