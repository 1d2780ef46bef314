"""`Authorization: Token <key>` against hashed tokens: what is accepted, what gets a 401."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from jikimi.accounts import services
from jikimi.accounts.models import ApiToken
from jikimi.audit.models import AuditEvent

URL = "/api/people/"


def _get(api_client, header: str):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    return api_client.get(URL, HTTP_ACCEPT_LANGUAGE="en")


def _refusals(reason: str):
    return AuditEvent.objects.filter(action="api_token.refused", detail__reason=reason)


def test_it_accepts_a_fresh_token(api_client, staff):
    _token, key = services.issue_api_token(staff["caseworker"])
    assert _get(api_client, f"Token {key}").status_code == 200
    assert _get(api_client, f"token {key}").status_code == 200  # the keyword is not cased


def test_it_refuses_a_revoked_token_with_401(api_client, staff):
    user = staff["caseworker"]
    token, key = services.issue_api_token(user)
    services.revoke_api_token(user, token.pk)
    resp = _get(api_client, f"Token {key}")
    assert resp.status_code == 401
    assert resp["WWW-Authenticate"] == "Token"
    assert "revoked" in resp.json()["detail"]
    assert _refusals("revoked").filter(actor_id=user.pk, object_ref=str(token.pk)).exists()


def test_it_refuses_an_expired_token_with_401(api_client, staff):
    _token, key = services.issue_api_token(staff["caseworker"])
    assert _get(api_client, f"Token {key}").status_code == 200
    with time_machine.travel(timezone.now() + services.API_TOKEN_LIFETIME + timedelta(seconds=1)):
        resp = _get(api_client, f"Token {key}")
    assert resp.status_code == 401
    assert "expired" in resp.json()["detail"]
    assert _refusals("expired").count() == 1


def test_it_refuses_the_token_of_a_disabled_user_with_401(api_client, staff):
    user = staff["caseworker"]
    _token, key = services.issue_api_token(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    resp = _get(api_client, f"Token {key}")
    assert resp.status_code == 401
    assert "disabled" in resp.json()["detail"]
    assert _refusals("inactive").filter(actor_id=user.pk).exists()


@pytest.mark.parametrize(
    "header,reason",
    [
        ("Token", "malformed"),
        ("Token two parts", "malformed"),
        ("Token " + "x" * 300, "malformed"),
        ("Token jk_00000000_not-a-token-anyone-was-given", "unknown"),
    ],
)
def test_it_refuses_a_bad_header_or_unknown_token_with_401(api_client, db, header, reason, caplog):
    resp = _get(api_client, header)
    assert resp.status_code == 401
    assert resp["WWW-Authenticate"] == "Token"
    # Anyone can send these: logged, but no audit row (the chain is not theirs to flood).
    assert not _refusals(reason).exists()
    assert f"API token refused: {reason}" in caplog.text


def test_a_drf_clear_text_token_grants_nothing(api_client, staff):
    """DRF's app stays installed (empty); a Token made there by hand must not log anyone in."""
    from rest_framework.authtoken.models import Token

    key = Token.objects.create(user=staff["caseworker"]).key
    assert _get(api_client, f"Token {key}").status_code == 401


def test_it_counts_a_token_as_hashed_not_as_the_key(staff):
    token, key = services.issue_api_token(staff["caseworker"])
    assert ApiToken.objects.filter(key_hash=services.hash_api_token(key)).get() == token
    assert services.authenticate_api_token(key) == (staff["caseworker"], token)


def test_it_describes_the_token_scheme_in_the_schema(staff, client_for_schema):
    schema = client_for_schema.get("/api/schema/?format=json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme["in"] == "header" and scheme["name"] == "Authorization"
    assert "Token" in scheme["description"]


@pytest.fixture
def client_for_schema(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    return api_client
