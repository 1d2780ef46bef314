"""Convert DRF's clear-text tokens into hashed ApiTokens, then delete the clear-text keys.

Current API clients keep working: the key they hold hashes to the stored hash. The hashing is
written out here rather than imported, so this migration keeps doing what it did when it was
written (accounts.services.hash_api_token must stay the same function).
"""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# Converted tokens live 30 days from the upgrade, not the 90 of a new token: their keys were
# in clear in every backup made so far, so they are the tokens most likely to be known to
# someone else. 30 days is time enough to give each client a new token.
LIFETIME = timedelta(days=30)


def convert_drf_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    db = schema_editor.connection.alias
    expires_at = timezone.now() + LIFETIME
    for token in Token.objects.using(db).iterator():
        ApiToken.objects.using(db).get_or_create(
            key_hash=hashlib.sha256(token.key.encode()).hexdigest(),
            defaults={
                "user_id": token.user_id,
                "prefix": "",
                "created_at": token.created,
                "expires_at": expires_at,
            },
        )
    if schema_editor.connection.vendor == "sqlite":
        # Overwrite the deleted keys in the database file instead of leaving them in free
        # pages (some SQLite builds do this by default, not all).
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
    # On PostgreSQL the deleted rows stay in the table's files until VACUUM (docs/security.md).
    Token.objects.using(db).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apitoken"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    # Backwards there is nothing to restore: the clear-text keys are gone on purpose.
    operations = [migrations.RunPython(convert_drf_tokens, migrations.RunPython.noop)]
