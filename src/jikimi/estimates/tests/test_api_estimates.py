"""GET/POST /api/estimates/: the Estimate JSON contract of DESIGN §8, with strata."""

from __future__ import annotations

import pytest

from jikimi.accounts.services import create_staff
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.estimates import inapp
from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import read_capture_csv

from .mse_db import build, table_path

URL = "/api/estimates/"
MY3 = "dga_madigan_york_3list.csv"
CONTRACT = {"method", "lists", "observed", "estimate", "interval", "level", "model", "warnings"}


@pytest.fixture(autouse=True)
def _no_linkage(monkeypatch):
    monkeypatch.setattr(inapp, "default_cluster_of", lambda: lambda ids: {})


@pytest.fixture
def analyst_api(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    return api_client


def test_it_returns_the_estimate_contract(analyst_api, orgs):
    build(orgs[0], MY3)
    response = analyst_api.post(
        URL, {"lists": ["A", "B", "C"], "method": "stepwise", "level": 0.9}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert CONTRACT <= set(data)
    expected = estimate_population(read_capture_csv(table_path(MY3)), level=0.9)
    assert data == {
        **expected.to_json_dict(),
        "stratify_by": None,
        "strata": [],
        "individuals": 626,
        "records_linked": True,
    }


def test_it_takes_get_parameters_with_commas_and_stratifies(analyst_api, orgs):
    build(
        orgs[0],
        "conting_spina_bifida_NY_by_ethnicity.csv",
        attrs=lambda row: {
            "defection_year": {"caucasian": 2011, "afro-american": 2015}.get(row["eth"])
        },
    )
    response = analyst_api.get(
        URL, {"lists": "S1,S2,S3", "method": "independence", "stratify_by": "defection_year"}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["observed"] == 621 and data["stratify_by"] == "defection_year"
    assert [s["stratum"] for s in data["strata"]] == ["2011", "2015", "unknown"]
    assert sum(s["observed"] for s in data["strata"]) == data["observed"]
    for stratum in data["strata"]:
        assert CONTRACT <= set(stratum)
    unknown = data["strata"][2]
    assert unknown["estimate"] is None and unknown["interval"] == [None, None]
    assert unknown["reason"].startswith("추정하기에는 사람이 너무 적습니다")  # Korean first
    event = AuditEvent.objects.get(action="estimate.run")
    assert event.detail["method"] == "independence"
    english = analyst_api.get(
        URL,
        {"lists": "S1,S2,S3", "method": "independence", "stratify_by": "defection_year"},
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert english["strata"][2]["reason"] == (
        "too few people for an estimate (2 observed; at least 10 are needed)"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lists": ["A"]}, "lists"),
        ({"lists": []}, "lists"),
        ({}, "lists"),
        ({"lists": ["A", "Nope"]}, "lists"),
        ({"lists": ["A", "B"], "method": "magic"}, "method"),
        ({"lists": ["A", "B"], "level": 2}, "level"),
        ({"lists": ["A", "B"], "stratify_by": "name"}, "stratify_by"),
    ],
)
def test_it_rejects_bad_input_with_a_field_error(analyst_api, orgs, body, field):
    build(orgs[0], MY3)
    response = analyst_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_it_shows_only_the_users_organisations_data(api_client, api_token, orgs):
    alpha, beta = orgs
    build(alpha, MY3)
    build(beta, MY3, prefix="b")
    beta_analyst, _ = create_staff("analyst-b", PASSWORD, beta, "analyst")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(beta_analyst)}")
    response = api_client.post(URL, {"lists": ["A", "B", "C"]}, format="json")
    assert response.status_code == 400 and "lists" in response.json()
    ok = api_client.post(URL, {"lists": ["bA", "bB", "bC"], "method": "bic"}, format="json")
    assert ok.status_code == 200 and ok.json()["observed"] == 626


def test_it_refuses_case_workers_and_anonymous_callers(api_client, api_token, staff, orgs):
    build(orgs[0], MY3)
    assert api_client.post(URL, {"lists": ["A", "B"]}, format="json").status_code in (401, 403)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    assert api_client.post(URL, {"lists": ["A", "B"]}, format="json").status_code == 403
    assert not AuditEvent.objects.filter(action="estimate.run").exists()


def test_it_is_described_in_the_openapi_schema(analyst_api):
    response = analyst_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"get", "post"} <= set(paths["/api/estimates/"])
