from __future__ import annotations

import pytest

from jikimi.audit.models import AuditEvent


@pytest.fixture
def client_for(api_client, api_token):
    def _client(user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return api_client

    return _client


def test_it_serves_the_openapi_schema(staff, client_for):
    resp = client_for(staff["caseworker"]).get("/api/schema/")
    assert resp.status_code == 200
    assert b"/api/people/{code}/" in resp.content


def test_it_requires_authentication(api_client, db):
    assert api_client.get("/api/people/").status_code in (401, 403)


def test_it_creates_finds_and_edits_a_person(staff, client_for):
    client = client_for(staff["caseworker"])
    resp = client.post(
        "/api/people/", {"name": "박옥순", "birth_year": 1979, "sex": "F"}, format="json"
    )
    assert resp.status_code == 201, resp.content
    code = resp.json()["code"]
    found = client.get("/api/people/", {"q": "Pak Ok-sun"}).json()
    assert [r["code"] for r in found["results"]] == [code]
    resp = client.post(
        f"/api/people/{code}/identities/",
        {"kind": "name", "name_kind": "cn_alias", "value": "朴玉顺"},
        format="json",
    )
    assert resp.status_code == 201
    resp = client.patch(f"/api/people/{code}/", {"status": "missing"}, format="json")
    assert resp.status_code == 200 and resp.json()["status"] == "missing"
    assert resp.json()["birth_year"] == 1979  # a partial update keeps other fields
    assert AuditEvent.objects.filter(object_ref=code, action="identity.create").exists()


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"name": ""}, "name"),
        ({"name": "김철수", "birth_year": 1800}, "birth_year"),
        ({"name": "김철수", "sex": "X"}, "sex"),
        ({"name": "김철수", "birth_year": "nineteen"}, "birth_year"),
    ],
)
def test_it_answers_bad_input_with_field_errors(staff, client_for, payload, field):
    resp = client_for(staff["caseworker"]).post("/api/people/", payload, format="json")
    assert resp.status_code == 400
    assert field in resp.json()


def test_it_rejects_a_bad_identity_and_changes_nothing(staff, client_for):
    client = client_for(staff["caseworker"])
    code = client.post("/api/people/", {"name": "김철수"}, format="json").json()["code"]
    before = AuditEvent.objects.count()
    resp = client.post(
        f"/api/people/{code}/identities/", {"kind": "phone", "value": "12"}, format="json"
    )
    assert resp.status_code == 400 and "value" in resp.json()
    resp = client.post(f"/api/people/{code}/trusted-contacts/", {"name": "누나"}, format="json")
    assert resp.status_code == 400 and "phone" in resp.json()
    assert AuditEvent.objects.count() == before + 2  # the two person reads, no writes


def test_it_describes_every_endpoint_without_schema_errors(staff, client_for, capsys):
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, capsys.readouterr().err  # no warning and no error
    for path in ("/api/checkins/alerts/", "/api/linkage/review/", "/api/estimates/"):
        assert path in schema["paths"]
