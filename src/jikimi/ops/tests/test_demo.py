"""The demo (`jikimi serve --demo`, `make run`) shows every capability, read back through the
services the pages use, and seeding it again changes nothing."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import TestCase

from jikimi.accounts.models import User
from jikimi.alerts import services as alerts
from jikimi.alerts.models import Alert
from jikimi.checkins import services as checkins
from jikimi.checkins.models import CheckIn, Enrolment
from jikimi.estimates import inapp
from jikimi.linkage import services as linkage
from jikimi.linkage.models import PersonLink, ReviewItem
from jikimi.notify.models import OutboxMessage
from jikimi.ops.demo import CLOSE_REASON, seed_demo
from jikimi.people import demo as people_demo
from jikimi.people import services as people
from jikimi.people.models import Identity, Person, SourceRecord

# Smaller than `serve --demo` (500 base people, lists of 200 individuals), to keep it fast;
# the check-ins and the README's example are the same.
PEOPLE, POPULATION = 20, 120
LISTS = [name for name, _chance in people_demo.DEMO_LISTS]


def _counts() -> dict[str, int]:
    models = (
        Person,
        Identity,
        SourceRecord,
        PersonLink,
        ReviewItem,
        Enrolment,
        CheckIn,
        Alert,
        OutboxMessage,
        User,
    )
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo, seeded once for the module (about 15 s) inside a transaction that is rolled
    back after it; each test's own transaction nests inside, so none sees another's writes.
    Linkage runs after each commit, as in `serve`: the captured callbacks are run."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                summary = seed_demo(people_count=PEOPLE, list_population=POPULATION)
            users = {u.username: u for u in User.objects.filter(username__startswith="demo-")}
            yield summary, users
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo(seeded, db):
    return seeded


def test_the_readme_example_is_found_in_every_spelling_and_linked_to_her_records(demo):
    _summary, users = demo
    worker = users["demo-caseworker"]
    code = people_demo.find_example(worker)
    assert code
    for spelling in ("이지현", "Lee Ji-hyun", "Ri Ji Hyon", "Yi Chi-hyŏn"):
        assert code in [row.code for row in people.search_people(worker, spelling)], spelling
    person = people.get_person(worker, code)
    # Her records on other lists, linked to her automatically (families, the NGO's list) …
    cluster = linkage.cluster_of(worker, person)
    sources = {s for m in cluster for s in m.person.source_records.values_list("source", flat=True)}
    assert {"family_report", "ngo_list"} <= sources
    # … and the North's broadcast, which the model is unsure of, waiting for a reviewer.
    items, _total = linkage.review_queue(worker, limit=500)
    assert any(person in (i.person_a, i.person_b) for i in items)


@pytest.mark.parametrize(
    "role", ["demo-admin", "demo-supervisor", "demo-caseworker", "demo-analyst"]
)
def test_the_review_queue_has_pending_pairs_for_every_role_that_reviews(demo, role):
    items, total = linkage.review_queue(demo[1][role])
    assert total >= 5 and items
    # Real pairs between the thresholds, scored by the model, not inserted by hand.
    low, high = linkage.thresholds("hanbit")
    assert all(low <= i.score < high and i.levels for i in items)


def test_the_source_lists_overlap_and_give_an_estimate(demo):
    analyst = demo[1]["demo-analyst"]
    available = dict(inapp.available_lists(analyst))
    assert set(LISTS) <= set(available) and all(available[name] >= 10 for name in LISTS)
    result = inapp.run_estimate(analyst, lists=LISTS, seed=1)
    table = result.histories.total
    on_several = sum(
        int(count)
        for pattern, count in zip(table.patterns, table.counts, strict=True)
        if sum(pattern) >= 2
    )
    assert on_several >= 10  # linked records count once, on each of their lists
    estimate = result.total.estimate
    assert estimate is not None, result.total.reason
    low, high = estimate.interval
    assert table.observed <= low <= estimate.estimate <= high < 3 * table.observed


def test_checkins_and_alerts_of_every_state(demo):
    users = demo[1]
    worker = users["demo-caseworker"]
    statuses = sorted(e.status for e in checkins.visible_enrolments(worker))
    assert statuses.count("active") >= 5 and "paused" in statuses and "setup" in statuses
    assert checkins.visible_enrolments(worker).filter(is_drill=True).exists()
    board = alerts.alert_board(worker, include_closed=True)
    seen = {(a.kind, a.state, a.is_drill) for a in board}
    assert {
        ("missed", "open", False),
        ("duress", "open", False),
        ("duress", "open", True),
        ("wrong_pins", "acknowledged", False),
        ("missed", "closed", False),
    } <= seen
    closed = next(a for a in board if a.state == "closed")
    assert closed.close_reason == CLOSE_REASON and closed.closed_by == users["demo-supervisor"]
    # The open board (without closed alerts) is what a case worker sees first.
    assert all(a.state != "closed" for a in alerts.alert_board(worker))


def test_seeding_again_changes_nothing(demo, django_capture_on_commit_callbacks):
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            seed_demo(people_count=PEOPLE, list_population=POPULATION)
            == "demo data already present"
        )
    assert _counts() == before


def test_it_does_not_seed_beside_another_organisations_people(demo, staff):
    people.create_person(staff["caseworker"], name="김민준")
    before = _counts()
    assert "not seeding" in seed_demo(people_count=PEOPLE, list_population=POPULATION)
    assert _counts() == before


def test_the_demo_documents_incidents_and_follows_a_case(demo):
    from jikimi.cases import services as cases
    from jikimi.incidents import determinations
    from jikimi.incidents import services as incidents

    summary, users = demo
    worker = users["demo-caseworker"]
    _events, total = incidents.list_events(worker)
    assert total == 3 and "incidents: 3 events" in summary
    acts, _n = incidents.list_acts(worker, incidents.ActFilter(place="图们"))
    assert [a.act_type.code for a in acts] == ["arrest"]  # found by the Chinese name
    [case] = cases.my_cases(worker, offset=0, limit=10).rows
    assert case.status == "detained" and case.source_ref.startswith("incident E-")
    returnees, _n = determinations.list_returnees(worker)
    assert [r.determination for r in returnees] == ["undetermined"]
