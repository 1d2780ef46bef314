"""API tokens: only a hash is stored, DRF's tokens are converted, use is throttled, audited."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from jikimi.accounts import services
from jikimi.accounts.models import ApiToken
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD

JIKIMI = str(Path(sys.executable).parent / "jikimi")


def _api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/people/").status_code


def _tables_text() -> str:
    """Every row of every table, as text (both databases)."""
    out = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            out.append(json.dumps([list(map(str, r)) for r in cur.fetchall()]))
    return "\n".join(out)


def test_it_keeps_no_byte_of_the_secret_in_any_table(client, staff, login):
    """Made on the page, used through the API: the secret part is in no table afterwards."""
    user = staff["caseworker"]
    login(client, user)
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    page = client.post(reverse("accounts:tokens"), {"action": "create"}).content.decode()
    token = ApiToken.objects.get(user=user)
    key = page.split('<code class="token">')[1].split("<")[0]
    assert key.startswith(token.prefix + "_")
    assert _api_status(key) == 200
    secret = key.removeprefix(token.prefix + "_")
    assert len(secret) >= 43  # 32 random bytes in base64url
    text = _tables_text()
    assert token.key_hash in text  # the scan does see the token's row
    for needle in (key, secret, secret[:16], secret[-16:]):
        assert needle not in text, needle


def test_it_updates_last_used_at_at_most_once_a_minute(staff):
    token, key = services.issue_api_token(staff["caseworker"])
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        services.authenticate_api_token(key)
    token.refresh_from_db()
    assert token.last_used_at == t0
    with time_machine.travel(t0 + timedelta(seconds=59), tick=False):
        with CaptureQueriesContext(connection) as queries:
            services.authenticate_api_token(key)
        assert not [q for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == t0
    with time_machine.travel(t0 + timedelta(seconds=61), tick=False):
        services.authenticate_api_token(key)
    token.refresh_from_db()
    assert token.last_used_at == t0 + timedelta(seconds=61)


def test_it_audits_create_revoke_and_refusal_without_token_material(staff):
    user = staff["caseworker"]
    token, key = services.issue_api_token(user)
    services.revoke_api_token(user, token.pk)
    services.revoke_api_token(user, token.pk)  # a second revoke changes and records nothing
    with pytest.raises(services.ApiTokenRefused):
        services.authenticate_api_token(key)
    events = list(
        AuditEvent.objects.filter(action__startswith="api_token.").order_by("id").values()
    )
    assert [(e["action"], e["object_ref"], e["actor_id"]) for e in events] == [
        ("api_token.create", str(token.pk), user.pk),
        ("api_token.revoke", str(token.pk), user.pk),
        ("api_token.refused", str(token.pk), user.pk),
    ]
    assert events[2]["detail"] == {"reason": "revoked"}
    dumped = json.dumps(events, default=str)
    for needle in (key, key.removeprefix(token.prefix), token.key_hash):
        assert needle not in dumped


def test_it_lets_users_revoke_only_their_own_tokens(client, staff, login):
    owner, other = staff["caseworker"], staff["supervisor"]
    token, key = services.issue_api_token(owner)
    with pytest.raises(ApiToken.DoesNotExist):
        services.revoke_api_token(other, token.pk)
    login(client, other)
    client.post(reverse("accounts:reauth"), {"password": PASSWORD})
    resp = client.post(reverse("accounts:tokens"), {"action": "revoke", "token": token.pk})
    assert resp.status_code == 404
    assert _api_status(key) == 200


# --- Converting DRF's clear-text tokens (migration 0004) -----------------------------------

BEFORE = ("accounts", "0003_apitoken")
DRF = ("authtoken", "0004_alter_tokenproxy_options")


@pytest.mark.django_db(transaction=True)
def test_it_converts_drf_tokens_so_clients_keep_working(staff):
    user = staff["caseworker"]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    try:
        old_apps = executor.loader.project_state([BEFORE, DRF]).apps
        Token = old_apps.get_model("authtoken", "Token")
        key = Token.objects.create(user_id=user.pk, key="0123456789abcdef" * 2 + "01234567").key
        made = Token.objects.get(key=key).created
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cur.fetchone()[0] == 0  # the clear-text keys are gone
    converted = ApiToken.objects.get(user=user)
    assert converted.key_hash == services.hash_api_token(key)
    assert converted.prefix == "" and converted.created_at == made
    assert timedelta(days=29) < converted.expires_at - timezone.now() <= timedelta(days=30)
    assert key not in _tables_text()
    assert _api_status(key) == 200
    assert _api_status(key[:-1] + "8") == 401


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="inspects the SQLite file itself",
)
def test_it_leaves_no_token_bytes_in_the_sqlite_file(tmp_path):
    """An upgrade with a DRF token, then a new token, through the real command line."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("JIKIMI_KEYS", "DATABASE_URL")}
    env["JIKIMI_HOME"] = str(home)
    # --skip-checks: Django's system checks import every view (seconds), not what this tests.
    init = [JIKIMI, "init", "--skip-checks", "--org", "alpha"]
    subprocess.run(init, env=env, check=True, capture_output=True)
    old_key = "feedc0de" * 5
    script = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "jikimi.settings"
django.setup()
from django.core.management import call_command
from django.db import connection
from jikimi.accounts.models import Organisation
from jikimi.accounts.services import create_staff, issue_api_token, authenticate_api_token
user, _ = create_staff("w", "a long enough password", Organisation.objects.get(slug="alpha"),
                       "caseworker")
call_command("migrate", "accounts", "0003", verbosity=0)
with connection.cursor() as cur:
    cur.execute("PRAGMA secure_delete = OFF")  # as in SQLite builds without it by default
    cur.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
                [sys.argv[1], "2025-01-01 00:00:00", user.pk])
call_command("migrate", verbosity=0)
assert authenticate_api_token(sys.argv[1])[0] == user
print(issue_api_token(user)[1])
"""
    done = subprocess.run(
        [sys.executable, "-c", script, old_key],
        env={**env, "JIKIMI_TESTING": "1"},
        check=True,
        capture_output=True,
        text=True,
    )
    new_key = done.stdout.strip().splitlines()[-1]
    db = home / "jikimi.sqlite3"
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    blobs = b"".join(p.read_bytes() for p in home.glob("jikimi.sqlite3*"))
    assert b"accounts_apitoken" in blobs  # the file is the real database
    new_secret = new_key.split("_", 2)[2]
    for needle in (old_key, new_key, new_secret):
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in blobs, needle
