"""Scoring in the application: the given-name alias level and term frequencies, with people
saved in the database as the pages and the importer save them. All names are synthetic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from jikimi.linkage import engine, services
from jikimi.linkage.models import PersonLink, ReviewItem, ReviewStatus
from jikimi.linkage.tests.test_review import linked, make_person, pair_of

__all__ = ["linked"]

pytestmark = pytest.mark.django_db

ALIAS_SOURCE = "cn_police_list"


def _import(linked, organisation, tmp_path: Path, rows: list[str], name: str = "list.csv"):
    from jikimi.people.importer import import_people
    from jikimi.people.models import Person, SourceRecord

    path = tmp_path / name
    path.write_text("record_id,source,name,birth_date,sex\n" + "\n".join(rows) + "\n", "utf-8")
    result = linked(import_people, path, organisation)
    assert result.created == len(rows) and not result.problems
    ids = SourceRecord.objects.filter(record_id__in=[r.split(",")[0] for r in rows]).values(
        "person_id"
    )
    return list(Person.objects.filter(pk__in=ids))


def _model(tmp_path: Path, alias_sources: list[str], *, alias_level: bool = True) -> Path:
    """A `jikimi link` model (the shape `engine` saves) with the given-name comparison as EM
    learns it on data with aliases: an outright disagreement is damning (-7.8 bits) unless a
    record comes from a source that uses aliases (-1.2 bits)."""
    given = [
        {"is_null_level": True},
        {"m_probability": 0.85, "u_probability": 0.002},
        {"m_probability": 0.02, "u_probability": 0.002},
        {"m_probability": 0.004, "u_probability": 0.01},
        {"m_probability": 0.003, "u_probability": 0.03},
    ]
    if alias_level:
        given.append(
            {
                "m_probability": 0.12,
                "u_probability": 0.28,
                "label_for_charts": engine.ALIAS_LEVEL_LABEL,
            }
        )
    given.append({"m_probability": 0.003, "u_probability": 0.67})
    model = {
        "format_version": engine.MODEL_FORMAT_VERSION,
        "alias_sources": alias_sources,
        "splink_model": {
            "probability_two_random_records_match": 1e-4,
            "comparisons": [{"output_column_name": "given_name", "comparison_levels": given}],
        },
    }
    path = tmp_path / f"model-{len(alias_sources)}-{alias_level}.json"
    path.write_text(json.dumps(model), encoding="utf-8")
    return path


# --- 1. The alias level -------------------------------------------------------------------

# One synthetic woman: in the app as 이지현, and on an alias-prone list under an alias given
# name (리춘화) with the same surname, birth date and sex.
LEE = {"birth_date": "1990-03-05", "birth_year": 1990, "sex": "F"}
ALIAS_ROW = f"CP-1,{ALIAS_SOURCE},Ri Chun Hwa,1990-03-05,F"


def test_an_alias_pair_reaches_the_queue_with_the_alias_sources_setting(
    staff, orgs, linked, tmp_path, settings
):
    settings.JIKIMI_LINKAGE_ALIAS_SOURCES = []
    lee = make_person(linked, staff["caseworker"], "이지현", **LEE)
    (alias,) = _import(linked, orgs[0], tmp_path, [ALIAS_ROW])
    # Without the source in the list the given names simply disagree: dropped.
    assert not ReviewItem.objects.exists() and not PersonLink.objects.exists()

    settings.JIKIMI_LINKAGE_ALIAS_SOURCES = [ALIAS_SOURCE]
    outcome = linked(services.link_person, alias.pk)
    item = ReviewItem.objects.get(**pair_of(lee, alias), status=ReviewStatus.PENDING)
    assert outcome.queued == [item]
    assert item.levels["given_name"] == "alias"
    assert item.levels["surname"] == "keys_intersect" and item.levels["birth_date"] == "full"
    low, high = services.thresholds()
    assert low <= item.score < high
    plain = services.match_probability({**item.levels, "given_name": "else"})
    assert plain < low  # the same pair on the plain "else" level: dropped, as before
    # The side-by-side view shows the level and its (milder) weight.
    view = services.pair_view(staff["caseworker"], item)
    row = next(r for r in view.levels if r[0] == "given_name")
    assert row[1] == "alias" and row[2] == round(services.current_weights().bits(*row[:2]), 1)
    assert row[2] > round(services.current_weights().bits("given_name", "else"), 1) + 2


def test_an_alias_pair_reaches_the_queue_with_a_trained_models_alias_sources(
    staff, orgs, linked, tmp_path, settings
):
    settings.JIKIMI_LINKAGE_ALIAS_SOURCES = None
    # A model that flagged no source: the pair is scored on "else" (-7.8 bits) and dropped.
    settings.JIKIMI_LINKAGE_MODEL = str(_model(tmp_path, []))
    lee = make_person(linked, staff["caseworker"], "이지현", **LEE)
    (alias,) = _import(linked, orgs[0], tmp_path, [ALIAS_ROW])
    assert not ReviewItem.objects.exists() and not PersonLink.objects.exists()

    # The same model with the source flagged: the model's alias level (-1.2 bits) is used.
    settings.JIKIMI_LINKAGE_MODEL = str(_model(tmp_path, [ALIAS_SOURCE]))
    assert services.alias_sources() == {ALIAS_SOURCE}
    linked(services.link_person, lee.pk)
    item = ReviewItem.objects.get(**pair_of(lee, alias), status=ReviewStatus.PENDING)
    assert item.levels["given_name"] == "alias"
    weights = services.current_weights()
    assert weights.m_u["given_name"]["alias"] == (0.12, 0.28)
    assert item.score == pytest.approx(services.match_probability(item.levels))
    assert services.match_probability({**item.levels, "given_name": "else"}) < 0.5


def test_an_alias_prone_person_does_not_soften_an_agreeing_name(staff, orgs, linked, settings):
    """The alias level comes after every level of agreement (the engine's order)."""
    settings.JIKIMI_LINKAGE_ALIAS_SOURCES = [ALIAS_SOURCE]
    left = services.RecordFeatures(
        names=[engine._name_columns("이지현", "")], birth_year=1990, alias_source=True
    )
    same = services.RecordFeatures(names=[engine._name_columns("Ri Ji Hyon", "")], birth_year=1990)
    close = services.RecordFeatures(names=[engine._name_columns("이지한", "")], birth_year=1990)
    other = services.RecordFeatures(names=[engine._name_columns("이춘화", "")], birth_year=1990)
    assert services.compare(left, same)["given_name"] == "keys_intersect"
    assert services.compare(left, close)["given_name"] in ("lev1", "lev2")
    assert services.compare(left, other)["given_name"] == "alias"
    plain = services.RecordFeatures(names=left.names, birth_year=1990)
    assert services.compare(plain, other)["given_name"] == "else"


def test_a_model_without_the_alias_level_scores_aliases_as_it_was_trained(tmp_path):
    path = _model(tmp_path, [ALIAS_SOURCE], alias_level=False)
    weights = services.weights_from_model(json.loads(path.read_text()))
    assert weights.m_u["given_name"]["else"] == (0.003, 0.67)
    assert weights.m_u["given_name"]["alias"] == (0.003, 0.67)
    assert weights.m_u["given_name"]["lev2"] == (0.003, 0.03)
    assert weights.alias_sources == {ALIAS_SOURCE}


# --- 2. Term frequencies ------------------------------------------------------------------

# Thirty men called 영철 under other surnames, each born in another year (so none of them is
# a candidate of the pairs below): 영철 is the organisation's common given name.
FILLER_SURNAMES = "박최정강조윤장임한오서신권황안송류홍전고문양손배백허남심노하곽성차주우구민"


def _fillers(linked, user, count: int = 30):
    from django.db import transaction

    from jikimi.people import services as people

    def save():
        with transaction.atomic():  # one batch
            for i, surname in enumerate(FILLER_SURNAMES[:count]):
                people.create_person(user, name=f"{surname}영철", birth_year=1930 + i, sex="M")

    linked(save)
    assert not ReviewItem.objects.exists() and not PersonLink.objects.exists()


def test_a_rare_given_name_agreeing_counts_for_more_than_a_common_one(staff, linked):
    cw = staff["caseworker"]
    _fillers(linked, cw)
    same = {"birth_year": 1975, "sex": "M"}
    # Two pairs with the same levels: surname and given name agree in another spelling,
    # same birth year and sex. Only how common the given name is differs.
    kim = make_person(linked, cw, "김영철", **same)
    kim2 = make_person(linked, cw, "Kim Yong Chol", **same)
    kang = make_person(linked, cw, "강휘람", **same)
    kang2 = make_person(linked, cw, "Kang Hwi Ram", **same)

    # The rare name reaches the queue; the common one (32 of 34 people) is dropped.
    rare = ReviewItem.objects.get(**pair_of(kang, kang2), status=ReviewStatus.PENDING)
    assert not ReviewItem.objects.filter(**pair_of(kim, kim2)).exists()
    assert not PersonLink.objects.exists()
    assert rare.levels["given_name"] == "keys_intersect"

    # Scored directly with the organisation's counts: same levels, different weights.
    features = services._load_features([kim, kim2, kang, kang2])
    seen = services.term_frequencies(
        cw.organisation_id, services.given_digests_of(*features.values())
    )
    assert seen.population == 34
    common = services.score_pair(features[kim.pk], features[kim2.pk], seen)
    uncommon = services.score_pair(features[kang.pk], features[kang2.pk], seen)
    assert common.levels == uncommon.levels
    assert common.frequencies["given_name"] == (32, 34)
    assert uncommon.frequencies["given_name"] == (2, 34)
    assert uncommon.probability > services.REVIEW_THRESHOLD > common.probability
    assert uncommon.adjusted["given_name"] - common.adjusted["given_name"] > 3
    assert rare.score == pytest.approx(uncommon.probability)
    # Without the counts both would score the same (and both be queued).
    plain = services.match_probability(common.levels)
    assert plain == services.score_pair(features[kim.pk], features[kim2.pk]).probability
    assert plain > services.REVIEW_THRESHOLD

    # The side-by-side view shows the adjusted weight and why.
    view = services.pair_view(cw, rare)
    row = next(r for r in view.levels if r[0] == "given_name")
    assert row[2] == round(uncommon.adjusted["given_name"], 1)
    assert view.frequencies == {"given_name": (2, 34)}
    assert view.score == pytest.approx(rare.score)


def test_the_review_page_says_the_name_weight_follows_its_frequency(staff, linked, client, login):
    cw = staff["caseworker"]
    _fillers(linked, cw, 5)
    kang = make_person(linked, cw, "강휘람", birth_year=1975, sex="M")
    kang2 = make_person(linked, cw, "Kang Hwi Ram", birth_year=1975, sex="M")
    item = ReviewItem.objects.get(**pair_of(kang, kang2))
    page = login(client, cw).get(f"/linkage/review/{item.pk}/", HTTP_ACCEPT_LANGUAGE="ko")
    text = page.content.decode()
    assert page.status_code == 200
    assert "7명 중 2명이 이 이름입니다" in text


def test_a_small_organisation_scores_as_without_term_frequencies():
    """The counts are pulled towards u until an organisation has about a thousand people, and
    a name nobody else carries gains at most log2(1/TF_FLOOR) bits."""
    m, u = services.DEFAULT_M_U["given_name"]["keys_intersect"]
    plain = math.log2(m / u)
    two_people = services.TermFrequencies({"d": 2}, population=2)
    assert two_people.adjusted({"d"}, m, u)[0] == pytest.approx(plain)
    huge = services.TermFrequencies({"d": 2}, population=1_000_000)
    assert huge.adjusted({"d"}, m, u)[0] == pytest.approx(plain + math.log2(1 / services.TF_FLOOR))
    common = services.TermFrequencies({"d": 20_002, "e": 2}, population=1_000_000)
    assert common.adjusted({"d", "e"}, m, u)[0] == pytest.approx(math.log2(m / 0.02), rel=1e-3)
    assert common.adjusted({"x"}, m, u) is None


def test_a_batch_counts_its_name_frequencies_in_one_grouped_query(staff, linked):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from jikimi.linkage.tests.test_batch import ROWS
    from jikimi.people import services as people

    cw = staff["caseworker"]
    with CaptureQueriesContext(connection) as queries:

        def batch():
            with transaction.atomic():
                for name, birth, sex, province in ROWS:
                    person = people.create_person(
                        cw, name=name, birth_year=int(birth[:4]), sex=sex, province=province
                    )
                    people.add_identity(cw, person, kind="birth_date", value=birth)

        linked(batch)
    grouped = [q["sql"] for q in queries.captured_queries if "COUNT(DISTINCT" in q["sql"]]
    assert len(grouped) == 1
    assert PersonLink.objects.count() >= 2  # and the batch still linked


def test_a_model_the_engine_trains_gives_every_level_of_the_pages(tmp_path):
    """The pages take a trained model level by level; a comparison whose shape differs is
    silently left on the defaults, so the engine's levels and the pages' must stay in step."""
    from jikimi.linkage import synthetic

    records, _ = synthetic.generate(6000, seed=5, difficulty="typical")
    path = tmp_path / "people.csv"
    synthetic.write_records(records, path)
    model = engine.train_model(engine.derive_columns(engine.read_records([path])))
    weights = services.weights_from_model(model)
    # Every comparison was taken (a level EM never saw, such as a surname group equal with no
    # reading in common, keeps its default), and the birth date level by level.
    for name, levels in services.COMPARISONS.items():
        assert weights.m_u[name][levels[0]] != services.DEFAULT_M_U[name][levels[0]], name
    for level in services.COMPARISONS["birth_date"]:
        assert weights.m_u["birth_date"][level] != services.DEFAULT_M_U["birth_date"][level]
    # A year recorded one off with the month and day kept is strong evidence; a year one off
    # with nothing else known is weak.
    assert weights.bits("birth_date", "year_pm1_md") > 6 > weights.bits("birth_date", "year_pm1")
