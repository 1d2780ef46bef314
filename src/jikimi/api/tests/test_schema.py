"""What the schema says about answers no one view declares, and the answers it relies on."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _ok(schema, path, method="get", code="200"):
    return schema["paths"][path][method]["responses"][code]["content"]["application/json"]


def test_lists_are_documented_as_they_are_answered(schema):
    page = _ok(schema, "/api/people/")["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][page]["properties"]) == {"count", "results"}
    timeline = _ok(schema, "/api/checkins/enrolments/{enrolment_id}/timeline")["schema"]
    assert timeline["type"] == "array"


def test_every_operation_documents_its_errors(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            if method != "get":
                assert "400" in codes, (method, path)
    errors = schema["paths"]["/api/people/{code}/"]["patch"]["responses"]
    assert errors["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ValidationError"
    )
    assert errors["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")


def test_each_enrolment_action_is_its_own_operation(schema):
    prefix = "/api/checkins/enrolments/{enrolment_id}/"
    actions = [p.removeprefix(prefix) for p in schema["paths"] if p.startswith(prefix)]
    actions.remove("")  # the enrolment itself
    assert sorted(actions) == ["pause", "policy", "resume", "setup-link", "timeline", "withdraw"]


def test_an_unknown_api_path_is_a_json_404_for_any_method(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}")
    for path in ("/api/nothing", "/api/checkins/alerts/null/ack", "/api/checkins/enrolments/x/y"):
        for method in ("get", "post"):
            response = getattr(api_client, method)(path)
            assert response.status_code == 404, (method, path)
            assert response["Content-Type"] == "application/json"
            assert set(response.json()) == {"detail"}


def test_a_path_missing_its_slash_is_still_redirected(api_client):
    response = api_client.get("/api/people?q=x")
    assert response.status_code == 301
    assert response["Location"] == "/api/people/?q=x"


def test_a_body_that_is_no_json_is_a_field_error(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}")
    response = api_client.post("/api/people/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]


def test_no_two_serializers_share_a_component_name():
    """drf-spectacular names a component after its serializer class; two classes of one
    name in different apps silently become one schema (one app's answers then validate
    against the other's fields). It warns about the collision: no warning may remain."""
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    collisions = [w for w in GENERATOR_STATS._warn_cache if "identical names" in w]
    assert collisions == []
