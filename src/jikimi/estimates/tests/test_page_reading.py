"""How an estimate reads on the analyst page: the method and the model in the reader's
language, the interval with what it is conditional on, a passed convergence check said
outside the warning box (and a failed one inside it), and strata numbers in number cells."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.utils import translation

from jikimi.estimates import inapp, lcmcr, presentation
from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import read_capture_csv

from .mse_db import build, table_path

MY3 = "dga_madigan_york_3list.csv"
URL = "/estimates/"


@pytest.fixture(autouse=True)
def _no_linkage_and_no_cache(monkeypatch):
    monkeypatch.setattr(inapp, "default_cluster_of", lambda: lambda ids: {})
    cache.clear()


def _shown(client, user, query: dict, **headers) -> str:
    """The page of a long request (BMA, LCMCR, the bootstrap): computed here first, the way
    a background job would, so the page answers it inline from the cache (test_jobs runs the
    same through the monitor and checks the job's page shows the same result)."""
    inapp.run_estimate(user, **query)
    return client.get(URL, query, **headers).content.decode()


def _between(body: str, start: str, end: str) -> str:
    if start not in body:
        return ""
    rest = body[body.index(start) :]
    return rest[: rest.index(end)]


def test_it_names_the_method_and_model_in_korean_and_english(client, staff, login, orgs):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    expected = estimate_population(read_capture_csv(table_path(MY3)), method="stepwise")
    ko = client.get(URL, {"lists": ["A", "B", "C"], "method": "stepwise"}).content.decode()
    assert "data-method>단계적 로그선형 모델 (SparseMSE)<" in ko
    model = _between(ko, "data-model>", "</dd>")
    assert model.startswith("data-model>로그선형 모델") and "Log-linear" not in ko
    assert expected.model not in ko  # the engine's English words are not the page's
    # Every interaction the engine chose is named.
    for term in expected.details["terms"]:
        assert " × ".join(expected.lists[i] for i in term) in model
    assert "data-conditional>선택한 모델을 조건으로 한 구간입니다" in ko
    client.cookies["django_language"] = "en"
    en = client.get(URL, {"lists": ["A", "B", "C"], "method": "stepwise"}).content.decode()
    assert "data-method>Stepwise log-linear (SparseMSE)<" in en
    assert "data-model>Log-linear model: each list, with the interactions" in en
    assert "data-conditional>Conditional on the chosen model" in en
    # The interval is there with its method, as before.
    low, high = expected.interval
    assert f"data-interval>{low:,.1f} – {high:,.1f}<" in en


def test_a_bayesian_interval_is_not_called_conditional_on_a_chosen_model(
    client, staff, login, orgs
):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    client.cookies["django_language"] = "en"
    body = _shown(client, staff["analyst"], {"lists": ["A", "B", "C"], "method": "bma"})
    assert "data-method>Bayesian model averaging (decomposable graphs)<" in body
    assert "data-model>Average over 8 decomposable graphs" in body
    assert "data-conditional" not in body and "data-interval>" in body


def test_a_passed_convergence_check_is_a_note_outside_the_warning_box(
    client, staff, login, orgs, monkeypatch
):
    build(orgs[0], "sparsemse_Artificial_3.csv")  # small: the chain mixes well
    monkeypatch.setattr(lcmcr, "DEFAULTS", {**lcmcr.DEFAULTS, **lcmcr.QUICK})
    login(client, staff["analyst"])
    client.cookies["django_language"] = "en"
    body = _shown(client, staff["analyst"], {"lists": ["A", "B", "C"], "method": "lcmcr"})
    note = _between(body, '<p class="check-passed" data-note>', "</p>")
    assert "no sign of non-convergence" in note
    assert "no sign of non-convergence" not in _between(body, "estimate-warnings", "</div>")
    assert "data-model>Latent classes (Dirichlet-process mixture, at most 10 classes" in body
    # The JSON keeps the check among the warnings (the command and the API say it too).
    result = inapp.run_estimate(staff["analyst"], lists=["A", "B", "C"], method="lcmcr")
    assert any("no sign of non-convergence" in w for w in result.to_json_dict()["warnings"])
    assert result.total.notes and not any(w in result.total.notes for w in result.total.alerts)


def test_a_failed_convergence_check_stays_in_the_warning_box(
    client, staff, login, orgs, monkeypatch
):
    build(orgs[0], MY3)
    monkeypatch.setattr(
        lcmcr, "DEFAULTS", {**lcmcr.DEFAULTS, "burnin": 0, "samples": 20, "thin": 1}
    )
    login(client, staff["analyst"])
    body = _shown(client, staff["analyst"], {"lists": ["A", "B", "C"], "method": "lcmcr"})
    assert "data-note" not in body
    assert "표집기가 수렴하지 않았을 수 있습니다" in _between(body, "estimate-warnings", "</div>")


def test_strata_numbers_sit_in_number_cells_with_the_method_named(client, staff, login, orgs):
    build(
        orgs[0],
        "conting_spina_bifida_NY_by_ethnicity.csv",
        attrs=lambda row: {"province": {"caucasian": "KP-01"}.get(row["eth"], "KP-02")},
    )
    login(client, staff["analyst"])
    body = client.get(
        URL, {"lists": ["S1", "S2", "S3"], "method": "stepwise", "stratify_by": "province"}
    ).content.decode()
    table = _between(body, '<table class="table compact strata">', "</table>")
    assert 'aria-labelledby="strata-head">\n  <table class="table compact strata">' in body
    intervals = re.findall(r'<td class="num" data-interval>([^<]+)</td>', table)
    assert len(intervals) == 2
    assert all(re.fullmatch(r"[\d,]+\.\d – [\d,]+\.\d", i) for i in intervals), intervals
    assert "방법: 단계적 로그선형 모델 (SparseMSE)" in body
    assert 'class="help conditional-note"' in body


def test_the_description_covers_every_method():
    table = read_capture_csv(table_path("sparsemse_Artificial_3.csv"))
    with translation.override("en"):
        for method in ("independence", "stepwise", "bic", "bma", "lcmcr"):
            est = estimate_population(table, method=method, quick=True)
            d = presentation.describe(est)
            assert d.method == str(presentation.METHOD_LABELS[method])
            assert d.model and d.model != est.model and d.interval, method
            assert bool(d.conditional) == (method != "bma" and method != "lcmcr"), method
    with translation.override("ko"):
        d = presentation.describe(estimate_population(table, method="independence"))
        assert d.model == "로그선형 모델: 각 목록, 상호작용 없음(목록들이 서로 독립)"


def test_the_bootstrap_interval_is_offered_and_says_it_includes_the_model_choice(
    client, staff, login, orgs
):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    query = {"lists": ["A", "B", "C"], "method": "stepwise"}
    wald = client.get(URL, {**query, "interval": "model"}).content.decode()
    boot = _shown(client, staff["analyst"], {**query, "interval": "bootstrap"})
    assert "Choose the bootstrap interval" in wald or "부트스트랩" in wald
    assert "data-conditional" in boot
    with translation.override("en"):
        note = presentation.conditional_note("stepwise", bootstrap=True)
    en = _shown(
        client, staff["analyst"], {**query, "interval": "bootstrap"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "BCa bootstrap interval, 500 replicates" in en
    assert note in en
    assert boot != wald


def test_the_api_takes_the_interval_and_refuses_it_where_it_does_not_apply(
    api_client, api_token, staff, orgs
):
    build(orgs[0], MY3)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    body = {"lists": ["A", "B", "C"], "method": "stepwise", "interval": "bootstrap"}
    ok = api_client.post("/api/estimates/", body, format="json")
    assert ok.status_code == 200, ok.content
    assert "BCa bootstrap interval, 500 replicates" in ok.json()["model"]
    wald = api_client.post("/api/estimates/", {**body, "interval": "model"}, format="json")
    assert "conditional on the model" in wald.json()["model"]
    assert ok.json()["interval"] != wald.json()["interval"]
    for bad in ({**body, "method": "bma"}, {**body, "interval": "jackknife"}):
        refused = api_client.post("/api/estimates/", bad, format="json")
        assert refused.status_code == 400 and "interval" in refused.json(), refused.content
