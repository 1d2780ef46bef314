"""The typo index holds a name's forms only (jikimi.lib.fuzzy_names, issue #14): a search
now looks up every string one typing error from the query's forms, so the one-deletion
variants that were indexed for each stored form are no longer needed. They were five sixths
of all index rows, and they showed in the database which names are near each other.

Each name identity's rows are brought to what `people.digests.identity_digests` gives now:
rows it does not give are deleted, missing ones added. Idempotent; `jikimi reindex` does the
same for every identity at any time. On a large database this decrypts every name once."""

from django.db import migrations

BATCH = 500


def keep_forms_only(apps, schema_editor):
    from jikimi.core.crypto import BlindIndexer
    from jikimi.people.digests import identity_digests

    Identity = apps.get_model("people", "Identity")
    IdentityIndex = apps.get_model("people", "IdentityIndex")
    names = Identity.objects.filter(kind="name").select_related("person").order_by("pk")
    index = None
    last = None
    while True:
        batch = list((names.filter(pk__gt=last) if last is not None else names)[:BATCH])
        if not batch:
            return
        index = index or BlindIndexer()
        rows: dict = {}
        for pk, identity_id, digest in IdentityIndex.objects.filter(identity__in=batch).values_list(
            "pk", "identity_id", "digest"
        ):
            rows.setdefault(identity_id, {})[digest] = pk
        stale: list = []
        missing: list = []
        for ident in batch:
            wanted = identity_digests("name", ident.value, index)
            have = rows.get(ident.pk, {})
            stale.extend(pk for digest, pk in have.items() if digest not in wanted)
            missing.extend(
                IdentityIndex(
                    identity=ident,
                    person=ident.person,
                    organisation_id=ident.person.organisation_id,
                    digest=digest,
                )
                for digest in sorted(wanted - have.keys())
            )
        for start in range(0, len(stale), BATCH):
            IdentityIndex.objects.filter(pk__in=stale[start : start + BATCH]).delete()
        IdentityIndex.objects.bulk_create(missing, batch_size=BATCH)
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("people", "0006_identity_index_keys_unconstrained")]

    operations = [migrations.RunPython(keep_forms_only, migrations.RunPython.noop)]
