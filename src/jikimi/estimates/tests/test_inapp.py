"""In-app estimates: capture histories from people and source records in the database.

The database tables are built from published capture-history tables (shared/data/mse), so the
in-app estimate must equal the file-based one (and the published reference values).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import translation

from jikimi.accounts.services import AccessDenied, create_staff
from jikimi.audit.models import AuditEvent
from jikimi.conftest import PASSWORD
from jikimi.estimates import inapp
from jikimi.estimates.services import estimate_population
from jikimi.estimates.tables import read_capture_csv
from jikimi.people.models import Person, SharingGrant, SourceRecord

from .mse_db import build, table_path
from .reference import reference_row

MY3 = "dga_madigan_york_3list.csv"
SPINA = "conting_spina_bifida_NY_by_ethnicity.csv"
PROVINCE_OF = {"caucasian": "KP-01", "afro-american": "KP-02", "other": "KP-03"}


def none(ids):
    """No same-person links: each person is an individual."""
    return {}


def _same(in_app, from_file):
    assert in_app.lists == from_file.lists
    assert in_app.observed == from_file.observed
    assert in_app.estimate == pytest.approx(from_file.estimate, rel=1e-9)
    assert in_app.interval == pytest.approx(from_file.interval, rel=1e-9)
    assert in_app.model == from_file.model


@pytest.mark.parametrize("method", ["independence", "stepwise", "bic", "bma"])
def test_it_equals_the_file_based_estimate_of_the_same_table(staff, orgs, method):
    built = build(orgs[0], MY3)
    result = inapp.run_estimate(staff["analyst"], lists=built.lists, method=method, cluster_of=none)
    table = read_capture_csv(table_path(MY3))
    assert (result.histories.total.counts == table.counts).all()
    assert result.histories.total.observed == 626
    _same(result.total.estimate, estimate_population(table, method=method))


def test_it_reproduces_the_published_reference_values(staff, orgs):
    built = build(orgs[0], MY3)
    analyst = staff["analyst"]
    bic = inapp.run_estimate(analyst, lists=built.lists, method="bic", cluster_of=none)
    assert bic.total.estimate.estimate == pytest.approx(
        reference_row(MY3, "best BIC")["point"], abs=0.1
    )
    ind = inapp.run_estimate(analyst, lists=built.lists, method="independence", cluster_of=none)
    assert ind.total.estimate.estimate == pytest.approx(
        reference_row(MY3, "independence")["point"], abs=0.1
    )


def test_it_runs_lcmcr_with_the_same_seed_as_the_file_based_engine(staff, orgs):
    built = build(orgs[0], MY3)
    opts = {"burnin": 300, "samples": 200, "thin": 2}
    result = inapp.run_estimate(
        staff["analyst"], lists=built.lists, method="lcmcr", seed=7, cluster_of=none, **opts
    )
    expected = estimate_population(read_capture_csv(table_path(MY3)), "lcmcr", seed=7, **opts)
    assert result.total.estimate.estimate == pytest.approx(expected.estimate)
    assert result.total.estimate.interval == pytest.approx(expected.interval)


def test_it_counts_linked_people_once(staff, orgs):
    """Each individual is split into one person per list; the links join them again."""
    built = build(orgs[0], MY3, split=True)
    assert Person.objects.count() > 626
    analyst = staff["analyst"]
    linked = inapp.run_estimate(analyst, lists=built.lists, cluster_of=built.cluster_of)
    table = read_capture_csv(table_path(MY3))
    assert linked.histories.individuals == 626
    assert linked.histories.people == Person.objects.count()
    assert (linked.histories.total.counts == table.counts).all()
    _same(linked.total.estimate, estimate_population(table))

    unlinked = inapp.capture_histories(analyst, lists=built.lists, cluster_of=none)
    assert unlinked.total.observed == Person.objects.count()
    # Without the links nobody is on two lists: no finite estimate, and the reason says why.
    result = inapp.run_estimate(analyst, lists=built.lists, cluster_of=none)
    assert result.total.estimate is None
    assert "{A}; {B}; {C}" in result.total.reason


def test_it_counts_a_person_listed_twice_on_one_list_once(staff, orgs):
    built = build(orgs[0], MY3)
    person = built.people[0]
    SourceRecord.objects.create(
        person=person, organisation=orgs[0], source=built.lists[0], record_id="dup-1"
    )
    SourceRecord.objects.create(
        person=person, organisation=orgs[0], source=built.lists[1], record_id="dup-2"
    )
    histories = inapp.capture_histories(staff["analyst"], lists=built.lists, cluster_of=none)
    assert histories.total.observed == 626


def test_it_uses_the_linkage_service_by_default(staff, orgs, monkeypatch):
    built = build(orgs[0], MY3)
    seen = []

    def fake_clusters(ids):
        ids = list(ids)
        seen.append(len(ids))
        return built.cluster_of(ids)

    monkeypatch.setattr(inapp, "default_cluster_of", lambda: fake_clusters)
    histories = inapp.capture_histories(staff["analyst"], lists=built.lists)
    assert seen == [626] and histories.linked and not histories.warnings


def test_it_links_with_the_linkage_apps_person_clusters(staff, orgs):
    from jikimi.linkage.models import LinkMethod, PersonLink

    built = build(orgs[0], MY3, split=True)
    by_individual: dict[str, list] = {}
    for person in built.people:
        by_individual.setdefault(built.truth[person.id], []).append(person)
    for group in by_individual.values():
        for a, b in zip(group, group[1:], strict=False):
            a, b = sorted((a, b), key=lambda p: p.pk)
            PersonLink.objects.create(person_a=a, person_b=b, method=LinkMethod.REVIEW)
    histories = inapp.capture_histories(staff["analyst"], lists=built.lists)
    assert histories.linked and histories.individuals == 626
    assert (histories.total.counts == read_capture_csv(table_path(MY3)).counts).all()


def _spina_attrs(row):
    return {"province": PROVINCE_OF[row["eth"]]}


def test_it_stratifies_into_tables_that_sum_to_the_total(staff, orgs):
    built = build(orgs[0], SPINA, attrs=_spina_attrs)
    result = inapp.run_estimate(
        staff["analyst"], lists=built.lists, stratify_by="province", cluster_of=none
    )
    strata = result.histories.strata
    assert list(strata) == ["KP-01", "KP-02", "KP-03"]
    assert sum(t.counts for t in strata.values()).tolist() == result.histories.total.counts.tolist()
    collapsed = read_capture_csv(table_path("conting_spina_bifida_NY_collapsed.csv"))
    assert result.histories.total.counts.tolist() == collapsed.counts.tolist()
    assert [strata[k].observed for k in strata] == [583, 36, 2]
    by_key = {s.stratum: s for s in result.strata}
    # The biggest stratum equals the file-based estimate of its own table.
    _same(by_key["KP-01"].estimate, estimate_population(strata["KP-01"]))
    # "other" has two people: a reason, not a number (in the active language: Korean first).
    assert by_key["KP-03"].estimate is None
    assert by_key["KP-03"].reason == "추정하기에는 사람이 너무 적습니다 (관찰 2명, 최소 10명 필요)"
    data = result.to_json_dict()
    assert [s["stratum"] for s in data["strata"]] == ["KP-01", "KP-02", "KP-03"]
    assert data["strata"][2]["estimate"] is None and data["strata"][2]["reason"]
    _same(result.total.estimate, estimate_population(collapsed))


def test_it_puts_people_without_the_attribute_in_an_unknown_stratum(staff, orgs):
    build(orgs[0], MY3, attrs=lambda row: {"defection_year": 2010} if row["A"] == "1" else {})
    histories = inapp.capture_histories(
        staff["analyst"], lists=["A", "B", "C"], stratify_by="defection_year", cluster_of=none
    )
    assert list(histories.strata) == ["2010", "unknown"]
    assert histories.strata["2010"].observed == 60 + 4 + 112 + 12
    assert sum(t.observed for t in histories.strata.values()) == 626


def test_it_gives_the_existence_check_reason_for_a_stratum_that_does_not_overlap(staff, orgs):
    """A stratum where nobody is on two lists has no finite MLE: the reason is shown."""
    # Births in the 1970s for the whole table, then 45 people born in the 1990s on one list each.
    build(orgs[0], MY3, attrs=lambda row: {"birth_year": 1975})
    for source in ("A", "B", "C"):
        for i in range(15):
            p = Person.objects.create(organisation=orgs[0], birth_year=1991)
            SourceRecord.objects.create(
                person=p, organisation=orgs[0], source=source, record_id=f"n{source}{i}"
            )
    result = inapp.run_estimate(
        staff["analyst"], lists=["A", "B", "C"], stratify_by="birth_decade", cluster_of=none
    )
    by_key = {s.stratum: s for s in result.strata}
    assert by_key["1990s"].observed == 45
    assert by_key["1990s"].estimate is None
    assert "{A}; {B}; {C}" in by_key["1990s"].reason
    assert by_key["1970s"].estimate is not None


def test_it_never_counts_another_organisations_records(staff, orgs):
    alpha, beta = orgs
    build(alpha, MY3)
    # Beta has the same list names, with many more people, and imported a row about one of
    # alpha's people: none of it may enter alpha's table.
    beta_built = build(beta, MY3, split=True)
    alpha_person = Person.objects.filter(organisation=alpha).first()
    SourceRecord.objects.create(
        person=alpha_person, organisation=beta, source="A", record_id="beta-row"
    )
    analyst = staff["analyst"]
    histories = inapp.capture_histories(analyst, lists=["A", "B", "C"], cluster_of=none)
    assert histories.total.counts.tolist() == read_capture_csv(table_path(MY3)).counts.tolist()
    assert dict(inapp.available_lists(analyst)) == {
        "A": 60 + 4 + 112 + 12,
        "B": 49 + 4 + 142 + 12,
        "C": 247 + 112 + 142 + 12,
    }
    # A person beta shared with alpha counts, with beta's own records about them.
    shared = beta_built.people[0]
    SharingGrant.objects.create(
        person=shared, to_organisation=alpha, granted_by=staff["outsider"], reason="referral"
    )
    histories = inapp.capture_histories(analyst, lists=["A", "B", "C"], cluster_of=none)
    assert histories.total.observed == 627
    # Beta's analyst sees only beta's people.
    beta_analyst, _ = create_staff("analyst-b", PASSWORD, beta, "analyst")
    beta_hist = inapp.capture_histories(beta_analyst, lists=["A", "B", "C"], cluster_of=none)
    assert beta_hist.total.observed == Person.objects.filter(organisation=beta).count()


def test_it_rejects_bad_requests_with_a_field_error(staff, orgs):
    build(orgs[0], MY3)
    analyst = staff["analyst"]
    cases = [
        ({"lists": ["A"]}, "lists"),
        ({"lists": ["A", "Nope"]}, "lists"),
        ({"lists": ["A", "B"], "method": "magic"}, "method"),
        ({"lists": ["A", "B"], "level": 1.5}, "level"),
        ({"lists": ["A", "B"], "stratify_by": "name"}, "stratify_by"),
    ]
    for kwargs, field_name in cases:
        with pytest.raises(inapp.EstimateRequestError) as info:
            inapp.run_estimate(analyst, cluster_of=none, **kwargs)
        assert field_name in info.value.errors, kwargs


def test_it_is_for_analysts_supervisors_and_admins_only(staff, orgs):
    build(orgs[0], MY3)
    for role in ("caseworker", "auditor"):
        with pytest.raises(AccessDenied):
            inapp.run_estimate(staff[role], lists=["A", "B"], cluster_of=none)
    for role in ("analyst", "supervisor", "admin"):
        assert inapp.run_estimate(staff[role], lists=["A", "B", "C"], cluster_of=none).total


def test_it_audits_each_run_without_personal_data(staff, orgs):
    built = build(orgs[0], MY3)
    inapp.run_estimate(
        staff["analyst"], lists=built.lists, method="bic", stratify_by="province", cluster_of=none
    )
    event = AuditEvent.objects.filter(action="estimate.run").get()
    assert event.actor_id == staff["analyst"].pk
    assert event.organisation_id == orgs[0].pk
    assert event.detail["lists"] == {"A": ["A"], "B": ["B"], "C": ["C"]}
    assert event.detail["method"] == "bic" and event.detail["stratify_by"] == "province"
    assert set(event.detail) == {
        "lists",
        "method",
        "level",
        "stratify_by",
        "seed",
        "interval",
        "observed",
    }


def test_it_groups_sources_into_source_types(staff, orgs):
    """``lists`` may map a list to several sources (each source type a list)."""
    build(orgs[0], MY3)
    histories = inapp.capture_histories(
        staff["analyst"], lists={"AB": ["A", "B"], "C": ["C"]}, cluster_of=none
    )
    assert histories.lists == ("AB", "C")
    # AB only: 60 + 49 + 4; C only: 247; both: 112 + 142 + 12.
    assert histories.total.counts.tolist() == [113, 247, 266]


def test_it_gives_reasons_and_warnings_in_the_active_language(staff, orgs):
    build(orgs[0], MY3, split=True)  # unlinked: nobody on two lists
    with translation.override("en"):
        english = inapp.run_estimate(staff["analyst"], lists=["A", "B", "C"], cluster_of=none)
    with translation.override("ko"):
        korean = inapp.run_estimate(staff["analyst"], lists=["A", "B", "C"], cluster_of=none)
    assert english.total.reason.startswith("no finite estimate exists for lists A, B, C: the")
    assert korean.total.reason.startswith("목록 A, B, C에서는 유한한 추정값이 나오지 않습니다")
    assert "{A}; {B}; {C}" in korean.total.reason


def test_it_translates_the_engine_warnings_of_an_estimate(staff, orgs):
    built = build(orgs[0], MY3)
    opts = {"burnin": 0, "samples": 20, "thin": 1}  # far too short: the check must say so
    with translation.override("ko"):
        result = inapp.run_estimate(
            staff["analyst"], lists=built.lists, method="lcmcr", cluster_of=none, **opts
        )
    assert result.total.estimate.warnings[0].startswith("표집기가 수렴하지 않았을 수 있습니다")
    assert result.to_json_dict()["warnings"] == result.total.estimate.warnings


def test_it_caches_results_by_table_and_options(staff, orgs, monkeypatch):
    cache.clear()
    built = build(orgs[0], SPINA, attrs=_spina_attrs)
    calls = []
    real = inapp.estimate_population

    def counting(table, **kwargs):
        calls.append(kwargs["method"])
        return real(table, **kwargs)

    monkeypatch.setattr(inapp, "estimate_population", counting)
    run = dict(lists=built.lists, method="bic", stratify_by="province", cluster_of=none)
    first = inapp.run_estimate(staff["analyst"], **run)
    assert len(calls) == 3  # the total and two strata (the third is too small)
    again = inapp.run_estimate(staff["analyst"], **run)
    assert len(calls) == 3 and again.to_json_dict() == first.to_json_dict()
    inapp.run_estimate(staff["analyst"], **{**run, "level": 0.9})
    assert len(calls) == 6
    assert AuditEvent.objects.filter(action="estimate.run").count() == 3  # each run audited


def test_it_runs_the_quick_lcmcr_chain_per_stratum_and_the_full_one_for_the_total(staff, orgs):
    cache.clear()
    built = build(orgs[0], SPINA, attrs=_spina_attrs)
    result = inapp.run_estimate(
        staff["analyst"], lists=built.lists, method="lcmcr", stratify_by="province", cluster_of=none
    )
    assert result.total.estimate.details["iterations"] == 110_000
    stratum = result.strata[0].estimate
    assert stratum.details["iterations"] in (12_000, 110_000)  # quick, or full after the check
    expected = estimate_population(result.histories.strata["KP-01"], "lcmcr", quick=True)
    assert stratum.estimate == expected.estimate and stratum.interval == expected.interval
