"""Linking people in the application: candidates, scores, the review queue, links, audit."""

from __future__ import annotations

import json
import re

import pytest

from jikimi.accounts import services as accounts
from jikimi.audit.models import AuditEvent
from jikimi.linkage import linking, services
from jikimi.linkage.models import LinkMethod, PersonLink, ReviewItem, ReviewStatus
from jikimi.people import importer
from jikimi.people import services as people
from jikimi.people.services import InvalidInput, NotFound

HANGUL = re.compile(r"[\uac00-\ud7a3]")
NAMES = ("이지현", "Ri Ji Hyon", "Ji Hyon", "Jihyun", "김영철")


@pytest.fixture
def linked(django_capture_on_commit_callbacks):
    """Run the on-commit linkage like a real request does (pytest-django wraps tests in a
    transaction that never commits)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def make_person(linked, user, name, *, birth_date="", **fields):
    """Create a person as the pages do, optionally with a birth-date identity."""

    def create():
        person = people.create_person(user, name=name, **fields)
        if birth_date:
            people.add_identity(user, person, kind="birth_date", value=birth_date)
        return person

    return linked(create)


def pair_of(a, b):
    left, right = sorted((a, b), key=lambda p: str(p.pk))
    return {"person_a": left, "person_b": right}


def assert_no_names_in_audit():
    for event in AuditEvent.objects.all():
        text = json.dumps(event.detail, ensure_ascii=False) + event.object_ref
        assert not HANGUL.search(text), event.action
        for name in NAMES:
            assert name.lower() not in text.lower(), event.action


@pytest.fixture
def lee_and_ri(staff, linked):
    cw = staff["caseworker"]
    lee = make_person(linked, cw, "이지현", birth_year=1990, sex="F")
    ri = make_person(linked, cw, "Ri Ji Hyon", birth_year=1990, sex="F")
    return lee, ri


def test_it_queues_or_links_ri_ji_hyon_with_이지현(lee_and_ri):
    lee, ri = lee_and_ri
    queued = ReviewItem.objects.filter(**pair_of(lee, ri), status=ReviewStatus.PENDING).exists()
    linked = PersonLink.objects.filter(**pair_of(lee, ri), unlinked_at__isnull=True).exists()
    assert queued or linked
    item = ReviewItem.objects.get(**pair_of(lee, ri))
    assert item.levels["surname"] == "keys_intersect"
    assert item.levels["given_name"] == "keys_intersect"
    assert item.levels["birth_date"] == "year"
    assert services.REVIEW_THRESHOLD <= item.score < services.AUTO_LINK_THRESHOLD
    assert_no_names_in_audit()


def test_it_links_automatically_when_birth_date_and_province_agree(staff, linked):
    cw = staff["caseworker"]
    lee = make_person(
        linked, cw, "이지현", birth_date="1990-03-05", birth_year=1990, sex="F", province="KP-09"
    )
    ri = make_person(
        linked,
        cw,
        "Ri Ji Hyon",
        birth_date="1990-03-05",
        birth_year=1990,
        sex="F",
        province="KP-09",
    )
    link = PersonLink.objects.get(**pair_of(lee, ri))
    assert link.method == LinkMethod.AUTO and link.score >= services.AUTO_LINK_THRESHOLD
    assert link.created_by is None and link.unlinked_at is None
    assert not ReviewItem.objects.filter(status=ReviewStatus.PENDING).exists()
    event = AuditEvent.objects.get(action="linkage.link")
    assert event.detail["method"] == "auto" and {event.detail["a"], event.detail["b"]} == {
        lee.code,
        ri.code,
    }
    assert_no_names_in_audit()


def test_it_does_not_pair_a_different_person(lee_and_ri, staff, linked):
    kim = make_person(linked, staff["caseworker"], "김영철", birth_year=1975, sex="M")
    other = make_person(linked, staff["caseworker"], "Park Ji Hyon", birth_year=1962, sex="M")
    for person in (kim, other):
        assert not ReviewItem.objects.filter(person_a=person).exists()
        assert not ReviewItem.objects.filter(person_b=person).exists()
        assert not PersonLink.objects.filter(person_a=person).exists()
        assert not PersonLink.objects.filter(person_b=person).exists()
    assert ReviewItem.objects.count() == 1  # only 이지현 / Ri Ji Hyon


def test_it_links_imported_rows_with_people_made_in_the_app(staff, orgs, linked, tmp_path):
    lee = make_person(linked, staff["caseworker"], "이지현", birth_year=1990, sex="F")
    csv = tmp_path / "ngo.csv"
    csv.write_text(
        "record_id,source,name,birth_date,sex,province\n"
        "r1,ngo-list,Yi Ji-hyon,1990,F,North Hamgyong\n"
        "r2,ngo-list,Choe Kwang Chol,1971,M,Ryanggang\n",
        encoding="utf-8",
    )
    result = linked(importer.import_people, csv, orgs[0])
    assert result.created == 2 and not result.problems
    items = ReviewItem.objects.filter(status=ReviewStatus.PENDING)
    links = PersonLink.objects.all()
    pairs = [{i.person_a_id, i.person_b_id} for i in (*items, *links)]
    assert len(pairs) == 1 and lee.pk in pairs[0]


def test_it_confirms_a_pair_into_a_link_and_audits_it(lee_and_ri, staff):
    lee, ri = lee_and_ri
    cw = staff["caseworker"]
    item = ReviewItem.objects.get(**pair_of(lee, ri))
    link = services.confirm(cw, item, reason="같은 전화번호")
    item.refresh_from_db()
    assert item.status == ReviewStatus.CONFIRMED and item.decided_by == cw and item.link == link
    assert link.method == LinkMethod.REVIEW and link.created_by == cw
    assert link.reason == "같은 전화번호"  # stored encrypted, readable in the service
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"linkage.review.confirm", "linkage.link"} <= actions
    with pytest.raises(InvalidInput):
        services.confirm(cw, item)  # decided already
    # The reviewer's words stay out of the audit log.
    for event in AuditEvent.objects.all():
        assert "전화" not in json.dumps(event.detail, ensure_ascii=False)
    assert_no_names_in_audit()
    assert [m.person for m in services.cluster_of(cw, lee)] == [ri]


def test_it_rejects_a_pair_for_good(lee_and_ri, staff, linked):
    lee, ri = lee_and_ri
    cw = staff["caseworker"]
    item = ReviewItem.objects.get(**pair_of(lee, ri))
    services.reject(cw, item)
    item.refresh_from_db()
    assert item.status == ReviewStatus.REJECTED and item.decided_by == cw
    assert AuditEvent.objects.filter(action="linkage.review.reject").count() == 1
    # A new identity re-runs linkage; a rejected pair is not proposed again.
    linked(people.add_identity, cw, ri, kind="name", value="Lee Ji-hyun")
    assert ReviewItem.objects.filter(status=ReviewStatus.PENDING).count() == 0
    assert not PersonLink.objects.exists()
    assert services.review_queue(cw)[1] == 0
    assert_no_names_in_audit()


def test_it_unlinks_with_a_reason_and_does_not_relink(lee_and_ri, staff, linked):
    lee, ri = lee_and_ri
    cw = staff["caseworker"]
    link = services.confirm(cw, ReviewItem.objects.get(**pair_of(lee, ri)))
    with pytest.raises(InvalidInput):
        services.unlink(cw, link, reason="  ")
    services.unlink(cw, link, reason="다른 사람: 부모 이름이 다름")
    link.refresh_from_db()
    assert link.unlinked_at is not None and link.unlinked_by == cw
    assert link.unlink_reason.startswith("다른 사람")
    assert services.cluster_of(cw, lee) == []
    event = AuditEvent.objects.get(action="linkage.unlink")
    assert event.object_ref == str(link.pk)
    with pytest.raises(InvalidInput):
        services.unlink(cw, link, reason="again")
    linked(people.add_identity, cw, ri, kind="birth_date", value="1990-03-05")
    assert PersonLink.objects.filter(unlinked_at__isnull=True).count() == 0
    assert_no_names_in_audit()


def test_it_shows_another_organisations_pair_to_no_one_else(lee_and_ri, staff):
    lee, ri = lee_and_ri
    outsider = staff["outsider"]
    item = ReviewItem.objects.get(**pair_of(lee, ri))
    assert services.review_queue(outsider) == ([], 0)
    with pytest.raises(NotFound):
        services.get_review_item(outsider, item.pk)
    with pytest.raises(NotFound):
        services.confirm(outsider, item)
    with pytest.raises(NotFound):
        services.reject(outsider, item)
    link = services.confirm(staff["caseworker"], item)
    with pytest.raises(NotFound):
        services.unlink(outsider, link, reason="not mine")
    link.refresh_from_db()
    assert link.unlinked_at is None


def test_it_never_pairs_people_across_organisations_without_a_grant(staff, linked):
    make_person(linked, staff["caseworker"], "이지현", birth_year=1990, sex="F")
    make_person(linked, staff["outsider"], "Ri Ji Hyon", birth_year=1990, sex="F")
    assert not ReviewItem.objects.exists() and not PersonLink.objects.exists()


def test_it_lets_analysts_see_the_queue_but_not_decide(lee_and_ri, staff):
    analyst = staff["analyst"]
    items, total = services.review_queue(analyst)
    assert total == 1
    view = services.pair_view(analyst, items[0])
    assert view.left.names == [] and view.right.names == [] and view.left.birth_dates == []
    with pytest.raises(accounts.AccessDenied):
        services.confirm(analyst, items[0])
    with pytest.raises(accounts.AccessDenied):
        services.review_queue(staff["auditor"])


def test_it_walks_a_cluster_through_links(staff, linked):
    cw = staff["caseworker"]
    full = {"birth_date": "1990-03-05", "birth_year": 1990, "sex": "F", "province": "KP-09"}
    a = make_person(linked, cw, "이지현", **full)
    b = make_person(linked, cw, "Ri Ji Hyon", **full)
    c = make_person(linked, cw, "Lee Jee Hyun", **full)
    codes = {m.person.code for m in services.cluster_of(cw, a)}
    assert codes == {b.code, c.code}


def test_it_takes_m_and_u_from_a_trained_model():
    model = {
        "splink_model": {
            "probability_two_random_records_match": 0.01,
            "comparisons": [
                {
                    "output_column_name": "sex",
                    "comparison_levels": [
                        {"is_null_level": True},
                        {"m_probability": 0.9, "u_probability": 0.45},
                        {"m_probability": 0.1, "u_probability": 0.55},
                    ],
                }
            ],
        }
    }
    weights = services.weights_from_model(model)
    assert weights.prior == 0.01
    assert weights.m_u["sex"]["exact"] == (0.9, 0.45)
    assert weights.m_u["given_name"] == services.DEFAULT_M_U["given_name"]
    assert round(weights.bits("sex", "exact"), 3) == 1.0
    assert weights.bits("sex", "null") == 0.0


def test_it_reads_a_models_alias_level_onto_the_alias_level():
    from jikimi.linkage import engine

    levels = [{"is_null_level": True}] + [
        {"m_probability": m, "u_probability": 0.1} for m in (0.8, 0.01, 0.03, 0.02)
    ]
    levels += [
        {"m_probability": 0.12, "u_probability": 0.3, "label_for_charts": engine.ALIAS_LEVEL_LABEL},
        {"m_probability": 0.002, "u_probability": 0.6},
    ]
    model = {"splink_model": {"comparisons": [
        {"output_column_name": "given_name", "comparison_levels": levels}
    ]}}  # fmt: skip
    weights = services.weights_from_model(model)
    assert weights.m_u["given_name"]["keys_intersect"] == (0.8, 0.1)
    assert weights.m_u["given_name"]["lev2"] == (0.02, 0.1)
    assert weights.m_u["given_name"]["alias"] == (0.12, 0.3)
    assert weights.m_u["given_name"]["else"] == (0.002, 0.6)


def test_it_links_again_when_a_compared_field_changes(staff, linked):
    cw = staff["caseworker"]
    lee = make_person(linked, cw, "이지현", birth_year=1990, sex="F")
    ri = make_person(linked, cw, "Ri Ji Hyon")  # no birth year yet: too little to go on
    assert not ReviewItem.objects.exists()
    linked(people.update_person, cw, ri, birth_year=1990, sex="F")
    assert ReviewItem.objects.filter(**pair_of(lee, ri), status=ReviewStatus.PENDING).exists()


def test_it_keeps_one_live_link_per_pair_when_two_writers_race(lee_and_ri):
    lee, ri = lee_and_ri
    a, b = sorted((lee, ri), key=lambda p: str(p.pk))
    first = services._create_link(a, b, method="auto", score=0.99, levels={})
    second = services._create_link(a, b, method="auto", score=0.99, levels={})
    assert first is not None and second is None
    assert PersonLink.objects.filter(unlinked_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="linkage.link").count() == 1


def test_it_saves_the_person_and_logs_no_name_when_linkage_fails(
    staff, linked, monkeypatch, caplog
):
    def broken(person_id, **kwargs):
        raise ValueError("cannot compare 이지현")  # an error text that quotes a name

    monkeypatch.setattr(linking, "link_person", broken)
    person = make_person(linked, staff["caseworker"], "이지현", birth_year=1990)
    assert person.pk and people.Person.objects.filter(pk=person.pk).exists()
    assert "linkage of person" in caplog.text and "ValueError" in caplog.text
    assert "이지현" not in caplog.text


def open_checkin_alert(person, organisation, user, *, key: str, **fields):
    """An open missed-check-in alert for `person` (enrolled if not yet)."""
    from django.utils import timezone

    from jikimi.alerts.models import Alert
    from jikimi.checkins import services as checkins
    from jikimi.checkins.models import Enrolment

    enrolment = Enrolment.objects.filter(person=person).first() or Enrolment.objects.create(
        person=person,
        organisation=organisation,
        caseworker=user,
        policy=checkins.default_policy(organisation),
    )
    return Alert.objects.create(
        organisation=organisation,
        person=person,
        source_app="checkins",
        source_ref=str(enrolment.pk),
        kind="missed",
        priority=1,
        key=key,
        created_at=timezone.now(),
        **fields,
    )
