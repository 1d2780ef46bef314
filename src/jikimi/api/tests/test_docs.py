"""The API documentation page: who gets it, what it loads; and the favicon."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_docs_page_is_for_signed_in_staff(client, login, staff):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login?next=/api/docs/")
    # A session that passed the password but not the second factor is no session here either.
    client.force_login(staff["analyst"])
    assert client.get("/api/docs/").status_code == 302
    login(client, staff["analyst"])
    response = client.get("/api/docs/", HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 200
    html = response.content.decode()
    assert "API 문서" in html
    assert 'data-schema-url="/api/schema/"' in html
    assert "swagger-ui-bundle.js" in html and "api/docs.js" in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_the_schema_stays_public(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")


def test_the_token_and_account_pages_link_the_docs(client, login, staff):
    from django.utils import timezone

    from jikimi.accounts import services

    login(client, staff["caseworker"])
    assert b'href="/api/docs/"' in client.get("/accounts/me").content
    session = client.session  # the token page needs a recent password check
    session[services.REAUTH_SESSION_KEY] = timezone.now().timestamp()
    session.save()
    response = client.get("/accounts/tokens")
    assert response.status_code == 200
    assert b'href="/api/docs/"' in response.content


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_every_label_of_ours_on_the_docs_page_is_translated(client, login, staff):
    """Swagger UI's own labels stay English (no translation hook; see README); ours do not."""
    login(client, staff["analyst"])
    ko = client.get("/api/docs/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    for korean in (
        "<title>API 문서",
        "API 토큰 관리",
        "스키마 내려받기 (OpenAPI)",
        'aria-label="API 작업 목록"',
        "API 작업 목록을 불러오는 중…",
    ):
        assert korean in ko, korean
    for english in ("Manage API token", "Download the schema", "API operations", "Programs call"):
        assert english not in ko, english
    en = client.get("/api/docs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Manage API token" in en and "Download the schema (OpenAPI)" in en
