"""Cross-cutting page properties: the strict CSP, no inline script or style, languages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from jikimi.people import services as people

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.fixture
def person(staff):
    return people.create_person(staff["caseworker"], name="한미래")


def _pages(person):
    return [
        reverse("people:list"),
        reverse("people:new"),
        reverse("people:detail", args=[person.code]),
        reverse("people:edit", args=[person.code]),
        reverse("accounts:account"),
        "/people/P-ZZZZ-ZZZZ/",
    ]


def _assert_csp_clean(response):
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    body = response.content.decode()
    assert not INLINE_SCRIPT.search(body), INLINE_SCRIPT.search(body)
    assert not STYLE_ATTR.search(body)
    assert "<style" not in body
    assert not INLINE_HANDLER.search(body)


def test_it_sends_a_strict_csp_and_no_inline_code_on_the_login_page(client, db):
    _assert_csp_clean(client.get(reverse("accounts:login")))


@pytest.mark.parametrize("role", ["caseworker", "auditor"])
def test_it_sends_a_strict_csp_and_no_inline_code_anywhere(client, staff, login, person, role):
    login(client, staff[role])
    pages = _pages(person) + ([reverse("audit:index")] if role == "auditor" else [])
    for url in pages:
        response = client.get(url)
        assert response.status_code in (200, 403, 404), url
        _assert_csp_clean(response)


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/htmx.min.js",
        "/static/jikimi/jikimi.js",
        "/static/jikimi/jikimi.css",
        "/static/vendor/noto-sans-kr/noto-sans-kr.css",
        "/static/vendor/noto-sans-kr/noto-sans-kr-korean-400-normal.woff2",
    ],
)
def test_it_serves_the_vendored_assets_from_our_own_origin(client, db, path):
    # Users may be offline and the CSP allows only 'self': nothing may come from a CDN.
    response = client.get(path)
    assert response.status_code == 200, "settings needs STATICFILES_DIRS = [BASE_DIR / 'static']"


def test_it_speaks_korean_by_default(client, db):
    body = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="ko">' in body
    assert "로그인" in body


def test_it_speaks_english_after_the_switch(client, staff, login, person):
    login(client, staff["caseworker"])
    assert "대상자 등록" in client.get(reverse("people:list")).content.decode()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/people/"})
    assert response.status_code == 302
    body = client.get(reverse("people:list")).content.decode()
    assert '<html lang="en">' in body and "New person" in body


def test_it_follows_accept_language_for_english_browsers(client, db):
    body = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Sign in" in body.content.decode()


def test_it_does_not_name_the_service_on_pages_for_anonymous_people(rf, db):
    # The person's own check-in pages extend base.html; on an inspected phone a page titled
    # "Jikimi — protection for North Korean defectors" could endanger them.
    from django.contrib.auth.models import AnonymousUser
    from django.template import engines

    request = rf.get("/c/some-token")
    request.user = AnonymousUser()
    template = engines["django"].from_string(
        '{% extends "base.html" %}{% block title %}Check in{% endblock %}'
        "{% block header %}{% endblock %}"
    )
    with translation.override("ko"):
        html = template.render({}, request)
    assert "<title>Check in</title>" in html
    assert "지킴이" not in html and "북한" not in html and "Jikimi" not in html
