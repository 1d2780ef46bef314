"""Every API view answers a JSON body that is not an object with 400 and a field error.

Views read `request.data` as a mapping; a list or a string reached them and was a 500
(issue 12, point 9). The walk below finds every URL under /api/, so a new view is covered
the day it is added.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

NOT_OBJECTS = ["[]", "[1, 2]", '"a string"', "12"]
VALUES = {"int": "1", "uuid": str(uuid.UUID(int=1)), "str": "pause", "slug": "x", "path": "x"}


def api_urls() -> list[str]:
    """Every URL pattern below /api/, with its parameters filled in."""

    def walk(patterns, prefix: str):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, route)
            elif not hasattr(getattr(p, "callback", None), "cls"):
                continue  # not a DRF view: the docs page, the 404 for every other path
            elif isinstance(p, URLPattern) and route.startswith("api/"):
                for conv, value in VALUES.items():
                    while f"<{conv}:" in route:
                        start = route.index(f"<{conv}:")
                        route = route[:start] + value + route[route.index(">", start) + 1 :]
                assert "<" not in route, route
                yield "/" + route

    return sorted(set(walk(get_resolver().url_patterns, "")))


def test_it_finds_the_api_urls():
    urls = api_urls()
    assert "/api/people/" in urls
    assert "/api/checkins/policies/" in urls
    assert len(urls) > 15


@pytest.mark.parametrize("url", api_urls())
def test_it_refuses_a_body_that_is_not_an_object(url, api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['admin'])}")
    for method in ("post", "put", "patch"):
        for body in NOT_OBJECTS:
            response = getattr(api_client, method)(url, body, content_type="application/json")
            assert response.status_code == 400, (method, url, body, response.content)
            # (the schema view renders its error as OpenAPI YAML, the others as JSON)
            assert b"non_field_errors" in response.content, (method, url, body)


@pytest.mark.parametrize(
    "url",
    ["/api/checkins/policies/", "/api/checkins/policies/1/", "/api/checkins/alerts/1/close"],
)
def test_it_names_the_problem(url, api_client, api_token, staff):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}", HTTP_ACCEPT_LANGUAGE="en"
    )
    response = api_client.post(url, "[]", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["The request body must be a JSON object."]}
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}", HTTP_ACCEPT_LANGUAGE="ko"
    )
    response = api_client.post(url, "[]", content_type="application/json")
    assert response.json() == {"non_field_errors": ["요청 본문은 JSON 객체여야 합니다."]}


def test_it_still_reads_objects_and_forms(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    assert api_client.post("/api/people/", {"name": "김철수"}, format="json").status_code == 201
    assert api_client.post("/api/people/", {"name": "이영희"}).status_code == 201  # multipart


def test_it_asks_for_authentication_before_reading_the_body(api_client):
    response = api_client.post("/api/people/", "[]", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize("url", ["/api/people/", "/api/linkage/review/"])
@pytest.mark.parametrize("offset", ["10000000000000000000000", "1000000001", "x"])
def test_it_refuses_an_offset_no_database_can_take(url, offset, api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}")
    response = api_client.get(url, {"offset": offset})
    assert response.status_code == 400
    assert list(response.json()) == ["offset"]


@pytest.mark.parametrize("url", ["/api/people/", "/api/linkage/review/"])
def test_it_pages_with_a_large_but_possible_offset(url, api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}")
    response = api_client.get(url, {"offset": "1000000000", "limit": "100000"})
    assert response.status_code == 200
    assert response.json()["results"] == []
