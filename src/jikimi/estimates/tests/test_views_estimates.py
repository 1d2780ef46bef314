"""The analyst page /estimates/ and the capture-history CSV download."""

from __future__ import annotations

import csv
import io
import re

import pytest

from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.estimates import inapp
from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import read_capture_csv

from .mse_db import build, table_path

MY3 = "dga_madigan_york_3list.csv"
URL = "/estimates/"


@pytest.fixture(autouse=True)
def _no_linkage(monkeypatch):
    """These tests are about the page; the people here are never linked."""
    monkeypatch.setattr(inapp, "default_cluster_of", lambda: lambda ids: {})


@pytest.fixture
def my3(orgs):
    return build(orgs[0], MY3)


def test_it_shows_the_form_with_the_organisations_lists(client, staff, login, my3):
    login(client, staff["analyst"])
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    for name, n in (("A", 188), ("B", 207), ("C", 513)):
        assert f'value="{name}"' in body and f"{name} ({n})" in body
    assert "<svg" not in body


def test_it_renders_an_estimate_with_the_upset_chart_for_an_analyst(client, staff, login, my3):
    login(client, staff["analyst"])
    response = client.get(URL, {"lists": ["A", "B", "C"], "method": "bic", "level": "0.95"})
    assert response.status_code == 200
    body = response.content.decode()
    expected = estimate_population(read_capture_csv(table_path(MY3)), method="bic")
    assert f"{expected.estimate:.1f}" in body
    assert f"{expected.interval[0]:.1f}" in body and f"{expected.interval[1]:.1f}" in body
    assert re.search(r"data-observed>\s*626", body)
    svg = body[body.index('<svg class="upset"') : body.index("</svg>")]
    assert len(re.findall(r"class=\"bar( suppressed)?\"", svg)) == 7  # non-empty patterns
    assert svg.count('class="dot on"') == 3 * 1 + 3 * 2 + 3  # singles, pairs, the triple
    assert svg.count('class="set-bar"') == 3
    assert 'class="link"' in svg
    assert '<option value="0.95" selected>' in body
    assert "style=" not in body and "<script>" not in body
    assert svg.count('class="bar suppressed"') == 1  # A and B only: 4 people, shown as <5
    assert "estimates/estimates.css" in body


def test_it_suppresses_small_counts_on_the_page_with_a_note(client, staff, login, orgs):
    build(orgs[0], "conting_spina_bifida_NY_by_ethnicity.csv")  # pattern 011 has 4 people
    login(client, staff["analyst"])
    body = client.get(URL, {"lists": ["S1", "S2", "S3"], "method": "independence"}).content
    body = body.decode()
    assert "&lt;5" in body  # the table cell and the chart label
    assert 'class="bar suppressed"' in body
    assert "suppression-note" in body


def test_it_shows_strata_with_reasons(client, staff, login, orgs):
    build(
        orgs[0],
        "conting_spina_bifida_NY_by_ethnicity.csv",
        attrs=lambda row: {"province": {"caucasian": "KP-01"}.get(row["eth"], "KP-02")},
    )
    login(client, staff["analyst"])
    response = client.get(
        URL, {"lists": ["S1", "S2", "S3"], "method": "stepwise", "stratify_by": "province"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "KP-01" in body and "KP-02" in body and 'class="table compact strata"' in body
    # Defaults not in the query are shown as used (95%), not as the first option.
    assert '<option value="0.95" selected>' in body


def test_it_says_why_there_is_no_finite_estimate(client, staff, login, orgs):
    build(orgs[0], MY3, split=True)  # unlinked: nobody on two lists
    login(client, staff["analyst"])
    body = client.get(URL, {"lists": ["A", "B", "C"]}).content.decode()
    assert "data-reason" in body and "{A}; {B}; {C}" in body
    assert "목록 A, B, C에서는 유한한 추정값이 나오지 않습니다" in body  # Korean first


@pytest.mark.parametrize(
    "query",
    [{"lists": ["A"]}, {"lists": ["A", "Nope"]}, {"lists": ["A", "B"], "method": "magic"}],
)
def test_it_shows_field_errors_for_bad_input(client, staff, login, my3, query):
    login(client, staff["analyst"])
    response = client.get(URL, query)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="estimate.run").exists()


def test_it_is_in_korean_by_default_and_english_on_request(client, staff, login, my3):
    login(client, staff["analyst"])
    ko = client.get(URL, {"lists": ["A", "B", "C"]}).content.decode()
    assert "추정" in ko
    client.cookies["django_language"] = "en"
    en = client.get(URL, {"lists": ["A", "B", "C"]}).content.decode()
    assert "How the lists overlap" in en


def test_it_refuses_case_workers_and_anonymous_users(client, staff, login, my3):
    assert client.get(URL).status_code == 302
    login(client, staff["caseworker"])
    assert client.get(URL).status_code == 403
    assert client.get(URL + "table.csv", {"lists": ["A", "B"]}).status_code == 403


def reauthenticated(client):
    """Type the password again, as the re-authentication page asks (DESIGN §3)."""
    assert client.post("/accounts/reauth", {"password": PASSWORD}).status_code == 302
    return client


def test_it_asks_for_the_password_before_an_export(client, staff, login, my3):
    login(client, staff["analyst"])
    response = client.get(URL + "table.csv", {"lists": ["A", "B", "C"]})
    assert response.status_code == 302 and "/accounts/reauth?next=" in response["Location"]
    reauthenticated(client)
    assert client.get(URL + "table.csv", {"lists": ["A", "B", "C"]}).status_code == 200


def test_it_downloads_the_unsuppressed_table_marked_internal(client, staff, login, orgs):
    build(orgs[0], "conting_spina_bifida_NY_by_ethnicity.csv")
    reauthenticated(login(client, staff["analyst"]))
    response = client.get(URL + "table.csv", {"lists": ["S1", "S2", "S3"]})
    assert response.status_code == 200
    assert response["X-Jikimi-Classification"] == "internal"
    assert "INTERNAL" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["S1", "S2", "S3", "count"]
    got = {tuple(r[:3]): int(r[3]) for r in rows[1:]}
    assert got[("0", "1", "1")] == 4  # not suppressed: internal
    assert sum(got.values()) == 621
    event = AuditEvent.objects.get(action="estimate.export")
    assert event.detail["suppressed"] is False


def test_it_downloads_a_stratified_table_readable_as_strata(client, staff, login, orgs):
    build(
        orgs[0],
        "conting_spina_bifida_NY_by_ethnicity.csv",
        attrs=lambda row: {"province": {"caucasian": "KP-01"}.get(row["eth"], "")},
    )
    reauthenticated(login(client, staff["analyst"]))
    response = client.get(
        URL + "table.csv", {"lists": ["S1", "S2", "S3"], "stratify_by": "province"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["S1", "S2", "S3", "stratum", "count"]
    by_stratum = {}
    for r in rows[1:]:
        by_stratum[r[3]] = by_stratum.get(r[3], 0) + int(r[4])
    assert by_stratum == {"KP-01": 583, "unknown": 38}


def test_it_neutralises_formulas_in_list_names(client, staff, login, orgs):
    build(orgs[0], MY3, prefix="=")
    reauthenticated(login(client, staff["analyst"]))
    response = client.get(URL + "table.csv", {"lists": ["=A", "=B"]})
    assert response.content.decode().splitlines()[0] == "'=A,'=B,count"


def test_it_neutralises_full_width_formula_starters_in_list_names(client, staff, login, orgs):
    build(orgs[0], MY3, prefix="＝")
    reauthenticated(login(client, staff["analyst"]))
    response = client.get(URL + "table.csv", {"lists": ["＝A", "＝B"]})
    assert response.content.decode().splitlines()[0] == "'＝A,'＝B,count"


def test_it_suppresses_below_the_organisations_own_threshold(client, staff, login, orgs, my3):
    """The threshold is the organisation's setting (accounts.services.suppression_threshold):
    at 20, every cell from 1 to 19 of this table is published as "<20"."""
    from jikimi.accounts import services as accounts

    accounts.update_organisation_settings(
        staff["admin"], time_zone="Asia/Seoul", suppress_below=20, sms_monthly_quota=None
    )
    login(client, staff["analyst"])
    body = client.get(URL, {"lists": ["A", "B", "C"], "method": "bic"}).content.decode()
    svg = body[body.index('<svg class="upset"') : body.index("</svg>")]
    assert "&lt;20" in body and "&lt;5<" not in body
    assert (
        "Counts from 1 to 19 are shown as &lt;20"
        in client.get(
            URL, {"lists": ["A", "B", "C"], "method": "bic"}, HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    )
    with open(table_path(MY3)) as f:
        small = [r for r in csv.DictReader(f) if 0 < int(r["count"]) < 20]
    assert small and svg.count('class="bar suppressed"') == len(small)
