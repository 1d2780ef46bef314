"""Estimates from acts (issue #14 point 7): capture histories by source kind, stratified by act
type and by return determination, checked against estimates computed here by hand."""

from __future__ import annotations

import pytest
from django.utils import translation

from jikimi.estimates import inapp
from jikimi.incidents import determinations
from jikimi.incidents.tests.returns_world import add_acts

pytestmark = pytest.mark.django_db

CASE, NGO, NK = "incidents:case_file", "incidents:ngo_list", "incidents:nk_media"


def none(ids):
    return {}


def _two_lists(n, case_only, ngo_only, both, act_type, determination):
    return [
        (case_only, act_type, ["case_file"], determination),
        (ngo_only, act_type, ["ngo_list"], determination),
        (both, act_type, ["case_file", "ngo_list"], determination),
    ][:n]


def _lincoln_petersen(case_only, ngo_only, both):
    n1, n2 = case_only + both, ngo_only + both
    return n1 * n2 / both


@pytest.fixture
def world(orgs):
    alpha, beta = orgs
    groups = [
        # abduction determined: 20 + 15 + 10 → LP = 30 * 25 / 10 = 75
        *_two_lists(3, 20, 15, 10, "abduction", "abduction"),
        # claimed voluntary and found voluntary: 12 + 8 + 8 → LP = 20 * 16 / 8 = 40
        *_two_lists(3, 12, 8, 8, "claimed_voluntary_return", "voluntary"),
        # forced repatriation, no overlap: 7 + 6 + 0 → no finite estimate
        *_two_lists(2, 7, 6, 0, "forced_repatriation", "forced_repatriation"),
        # lure: 2 + 2 + 1, too few people for an estimate
        *_two_lists(3, 2, 2, 1, "nk_media_appearance", "lure"),
        # not a return act: never counted
        (9, "arrest", ["case_file", "ngo_list"], None),
    ]
    add_acts(alpha, groups)
    # Another organisation's returnees never count for alpha.
    add_acts(beta, [(30, "abduction", ["case_file", "ngo_list"], "abduction")])
    return alpha


def _by_stratum(result):
    return {s.stratum: s for s in result.strata}


def test_it_stratifies_by_determination_against_hand_computed_estimates(staff, world):
    result = inapp.run_estimate(
        staff["analyst"],
        lists=[CASE, NGO],
        method="independence",
        stratify_by="determination",
        cluster_of=none,
    )
    strata = _by_stratum(result)
    assert set(strata) == {"abduction", "voluntary", "forced_repatriation", "lure"}
    assert strata["abduction"].observed == 45
    assert strata["abduction"].estimate.estimate == pytest.approx(_lincoln_petersen(20, 15, 10))
    lo, hi = strata["abduction"].estimate.interval
    assert lo <= 75 <= hi and lo >= 45
    assert strata["voluntary"].estimate.estimate == pytest.approx(_lincoln_petersen(12, 8, 8))
    # No overlap: a reason, not a number.
    assert strata["forced_repatriation"].estimate is None
    assert strata["forced_repatriation"].reason
    # Too small: says so.
    assert strata["lure"].estimate is None
    assert "5" in strata["lure"].reason
    # The total is over every return act of alpha (beta's and the arrests excluded).
    assert result.total.observed == 45 + 28 + 13 + 5
    assert result.total.estimate.estimate == pytest.approx(
        _lincoln_petersen(20 + 12 + 7 + 2, 15 + 8 + 6 + 2, 10 + 8 + 0 + 1)
    )


def test_it_stratifies_by_act_type(staff, world):
    result = inapp.run_estimate(
        staff["supervisor"],
        lists=[CASE, NGO],
        method="independence",
        stratify_by="act_type",
        cluster_of=none,
    )
    strata = _by_stratum(result)
    assert set(strata) == {
        "abduction",
        "claimed_voluntary_return",
        "forced_repatriation",
        "nk_media_appearance",
    }
    assert strata["abduction"].estimate.estimate == pytest.approx(75)
    assert strata["claimed_voluntary_return"].estimate.estimate == pytest.approx(40)
    assert strata["forced_repatriation"].estimate is None
    data = result.to_json_dict()
    assert data["stratify_by"] == "act_type"
    assert {s["stratum"] for s in data["strata"]} == set(strata)


def test_a_person_with_two_return_acts_counts_once_in_the_total(staff, orgs):
    alpha, _ = orgs
    person = add_acts(alpha, [(1, "abduction", ["case_file"], None)])[0]
    add_acts(alpha, [(12, "abduction", ["case_file", "ngo_list"], None)])
    from jikimi.incidents.models import Act, Event, Information, Source
    from jikimi.incidents.tests.returns_world import DAY, _term

    event = Event.objects.create(
        organisation=alpha,
        title="x",
        date_start=DAY,
        date_end=DAY,
        date_precision="day",
        date_text="2016",
    )
    act = Act.objects.create(
        event=event,
        organisation=alpha,
        victim=person,
        act_type=_term("act_type", "nk_media_appearance"),
        date_start=DAY,
        date_end=DAY,
        date_precision="day",
        date_text="2016",
    )
    # The event's own source (no act): it reports every act of the event.
    source = Source.objects.filter(organisation=alpha, kind__code="ngo_list").first()
    Information.objects.create(event=event, act=None, source=source)
    histories = inapp.capture_histories(
        staff["analyst"], lists=[CASE, NGO], stratify_by="act_type", cluster_of=none
    )
    assert act.pk
    assert histories.individuals == 13
    # 13 on both lists in total: the person is on case_file (abduction) and ngo_list (media).
    counts = histories.total.counts.tolist()
    table = dict(zip(map(tuple, histories.total.patterns), counts, strict=True))
    assert table[(1, 1)] == 12 + 1
    assert histories.warnings  # in two act-type strata: said


def test_incident_lists_are_checked(staff, world):
    analyst = staff["analyst"]
    names = dict(inapp.available_lists(analyst))
    assert names[CASE] == 45 + 28 + 13 + 5 - 15 - 8 - 6 - 2
    assert NK not in names
    with translation.override("en"):
        with pytest.raises(inapp.EstimateRequestError) as exc:
            inapp.run_estimate(analyst, lists=[CASE, NK], cluster_of=none)
        assert "lists" in exc.value.errors
        with pytest.raises(inapp.EstimateRequestError) as exc:
            inapp.run_estimate(analyst, lists=[CASE, NGO], stratify_by="province", cluster_of=none)
        assert "stratify_by" in exc.value.errors
    with pytest.raises(inapp.accounts.AccessDenied):
        inapp.run_estimate(staff["caseworker"], lists=[CASE, NGO], cluster_of=none)


def test_capture_records_filter_by_determination(staff, world):
    rows = determinations.capture_records(
        staff["analyst"], determinations=["voluntary"], stratify_by="determination"
    )
    people = {r.person_id for r in rows}
    assert len(people) == 28
    assert {r.stratum for r in rows} == {"voluntary"}
    assert all(r.list in {"case_file", "ngo_list"} for r in rows)


def test_the_api_and_the_page_offer_incident_lists(
    api_client, api_token, client, login, staff, world
):
    analyst = staff["analyst"]
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {api_token(analyst)}", HTTP_ACCEPT_LANGUAGE="en"
    )
    answer = api_client.get(
        "/api/estimates/",
        {"lists": f"{CASE},{NGO}", "method": "independence", "stratify_by": "determination"},
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()
    strata = {s["stratum"]: s for s in data["strata"]}
    assert strata["abduction"]["estimate"] == pytest.approx(75)
    assert strata["lure"]["estimate"] is None
    assert strata["lure"]["reason"].startswith("too few people")
    refused = api_client.get("/api/estimates/", {"lists": f"{CASE},A", "stratify_by": "act_type"})
    assert refused.status_code == 400
    login(client, analyst)
    page = client.get("/estimates/")
    assert CASE in page.content.decode()
    shown = client.get(
        "/estimates/",
        {"lists": [CASE, NGO], "method": "independence", "stratify_by": "act_type"},
    )
    assert shown.status_code == 200
    assert "claimed_voluntary_return" in shown.content.decode()


def test_a_background_job_takes_incident_lists_and_refuses_a_bad_mix(staff, world):
    from jikimi.estimates import jobs

    analyst = staff["analyst"]
    job = jobs.create_job(analyst, lists=[CASE, NGO], method="bma", stratify_by="determination")
    assert job.params["lists"] == [CASE, NGO]
    assert job.params["stratify_by"] == "determination"
    with pytest.raises(inapp.EstimateRequestError) as exc:
        jobs.create_job(analyst, lists=[CASE, NGO], method="bma", stratify_by="birth_decade")
    assert "stratify_by" in exc.value.errors
