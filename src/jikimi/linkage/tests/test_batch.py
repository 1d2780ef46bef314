"""People saved in one transaction (an import) are linked as one batch after the commit,
with the same decisions as one at a time, and one failure does not stop the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from jikimi.linkage import candidates, linking, services
from jikimi.linkage.models import PersonLink, ReviewItem
from jikimi.linkage.tests.test_review import linked, make_person, open_checkin_alert
from jikimi.people import services as people

__all__ = ["linked"]

pytestmark = pytest.mark.django_db

# Three spellings of one synthetic person, one of another, and an unrelated person.
ROWS = [
    ("이지현", "1990-03-05", "F", "함경북도"),
    ("Ri Ji Hyon", "1990-03-05", "F", "North Hamgyong"),
    ("Lee Ji-hyun", "1990-03", "F", "함북"),
    ("박성철", "1975-07-01", "M", "양강도"),
    ("Pak Song Chol", "1975-07-01", "M", "Ryanggang"),
    ("최민수", "1962-01-09", "M", "평양"),
]


def _create_all(user):
    made = []
    for name, birth, sex, province in ROWS:
        person = people.create_person(
            user, name=name, birth_year=int(birth[:4]), sex=sex, province=province
        )
        people.add_identity(user, person, kind="birth_date", value=birth)
        made.append(person)
    return made


def _decisions(made) -> set[tuple[int, int, str]]:
    index = {p.pk: i for i, p in enumerate(made)}

    def pair(a, b):
        return tuple(sorted((index[a], index[b])))

    links = {(*pair(x.person_a_id, x.person_b_id), "link") for x in PersonLink.objects.all()}
    queued = {(*pair(x.person_a_id, x.person_b_id), "queue") for x in ReviewItem.objects.all()}
    return links | queued


def test_one_transaction_is_one_batch_with_the_same_decisions(staff, linked, monkeypatch):
    from django.db import transaction

    calls = []
    real = services.link_people
    monkeypatch.setattr(
        services, "link_people", lambda ids, **kw: calls.append(list(ids)) or real(ids, **kw)
    )

    def in_one_transaction():
        with transaction.atomic():
            return _create_all(staff["caseworker"])

    batch = linked(in_one_transaction)
    assert len(calls) == 1 and calls[0] == [p.pk for p in batch]
    batch_decisions = _decisions(batch)
    assert (0, 1, "link") in batch_decisions and (3, 4, "link") in batch_decisions
    assert not any(5 in d[:2] for d in batch_decisions)

    # The same records saved one at a time (separate commits) give the same decisions.
    PersonLink.objects.all().delete()
    ReviewItem.objects.all().delete()
    people.Person.objects.all().delete()
    calls.clear()
    single = []
    for name, birth, sex, province in ROWS:
        single.append(
            make_person(
                linked,
                staff["caseworker"],
                name,
                birth_date=birth,
                birth_year=int(birth[:4]),
                sex=sex,
                province=province,
            )
        )
    assert len(calls) == len(ROWS)
    assert _decisions(single) == batch_decisions


def test_a_failure_in_the_batch_alerts_for_that_person_and_links_the_rest(
    staff, linked, monkeypatch
):
    from django.db import transaction

    from jikimi.alerts.models import Alert

    real = services.link_person
    broken_name = {"value": None}

    def sometimes_broken(person_id, **kwargs):
        if person_id == broken_name["value"]:
            raise RuntimeError("scoring failed")
        return real(person_id, **kwargs)

    monkeypatch.setattr(linking, "link_person", sometimes_broken)

    def in_one_transaction():
        with transaction.atomic():
            made = _create_all(staff["caseworker"])
            broken_name["value"] = made[0].pk
            return made

    made = linked(in_one_transaction)
    alert = Alert.objects.get(kind="linkage_failure")
    assert alert.detail == {"person": made[0].code, "error": "RuntimeError"}
    # The others were still linked (1 with 0 comes from person 1's own run).
    assert PersonLink.objects.filter(
        person_a__in=[made[3], made[4]], person_b__in=[made[3], made[4]]
    ).exists()


def test_an_import_links_its_people_after_the_commit(staff, orgs, linked, tmp_path: Path):
    from jikimi.people.importer import import_people

    path = tmp_path / "people.csv"
    lines = ["record_id,source,name,birth_date,sex,province"]
    lines += [
        f"R{i},ngo_list,{name},{birth},{sex},{province}"
        for i, (name, birth, sex, province) in enumerate(ROWS)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = linked(import_people, path, orgs[0])
    assert result.created == len(ROWS) and not result.problems
    assert PersonLink.objects.count() >= 2  # 이지현 = Ri Ji Hyon, 박성철 = Pak Song Chol


def test_a_person_rolled_back_inside_the_batch_is_skipped(staff, linked):
    from django.db import transaction

    from jikimi.alerts.models import Alert

    def work():
        with transaction.atomic():
            keep = people.create_person(
                staff["caseworker"], name="이지현", birth_year=1990, sex="F", province="KP-09"
            )
            people.add_identity(staff["caseworker"], keep, kind="birth_date", value="1990-03-05")
            try:
                with transaction.atomic():
                    people.create_person(staff["caseworker"], name="리지현", birth_year=1990)
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            other = people.create_person(
                staff["caseworker"], name="Ri Ji Hyon", birth_year=1990, sex="F", province="KP-09"
            )
            people.add_identity(staff["caseworker"], other, kind="birth_date", value="1990-03-05")
            return keep, other

    keep, other = linked(work)
    assert people.Person.objects.count() == 2
    assert not Alert.objects.filter(kind="linkage_failure").exists()
    link = PersonLink.objects.get()
    assert {link.person_a_id, link.person_b_id} == {keep.pk, other.pk}


def _candidate_queries(staff, linked, copies: int) -> tuple[int, int]:
    """Link `copies` × ROWS people saved in one transaction; (index queries, people)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    cw = staff["caseworker"]

    def work():
        with transaction.atomic():
            for copy in range(copies):
                for name, birth, sex, province in ROWS:
                    year = int(birth[:4]) - 10 * copy  # copies are other people
                    person = people.create_person(
                        cw, name=name, birth_year=year, sex=sex, province=province
                    )
                    people.add_identity(cw, person, kind="birth_date", value=f"{year}{birth[4:]}")

    with CaptureQueriesContext(connection) as queries:
        linked(work)
    linking = [q["sql"] for q in queries.captured_queries]
    # Only the queries after the import's own writes: the ones linkage reads the index with.
    reads = [s for s in linking if s.lstrip().upper().startswith("SELECT")]
    index = [s for s in reads if "people_identityindex" in s]
    return len(index), copies * len(ROWS)


def test_a_batch_reads_the_blind_index_in_the_same_few_queries_whatever_its_size(staff, linked):
    """Blocking and term frequencies for a chunk of a batch are one query per rule, not three
    per person (the ORM's query compilation was most of the cost of linking a person)."""
    small, six = _candidate_queries(staff, linked, 1)
    PersonLink.objects.all().delete()
    ReviewItem.objects.all().delete()
    people.Person.objects.all().delete()
    large, thirty = _candidate_queries(staff, linked, 5)
    assert (six, thirty) == (6, 30)
    assert small == large <= 4  # full keys, given keys + year, term frequencies
    assert PersonLink.objects.count() >= 10  # 2 links in each of the 5 copies


def test_a_link_in_a_batch_reads_the_status_and_alerts_when_it_is_made(staff, orgs, linked):
    """A chunk's rows are read before its people are linked; whether a person is missing or
    has an open check-in alert is read again when the link is made."""
    from jikimi.alerts.models import Alert

    def saved(fn, *args, **kwargs):  # saved without running the on-commit linkage
        return fn(*args, **kwargs)

    cw = staff["caseworker"]
    full = {"birth_date": "1990-03-05", "birth_year": 1990, "sex": "F", "province": "KP-09"}
    lee = make_person(saved, cw, "이지현", **full)
    ri = make_person(saved, cw, "Ri Ji Hyon", **full)
    park = make_person(saved, cw, "박성철", birth_year=1975, sex="M")
    pak = make_person(saved, cw, "Pak Song Chol", birth_year=1975)
    assert not PersonLink.objects.exists() and not ReviewItem.objects.exists()
    chunk = services._prepare([ri.pk, pak.pk], {})
    # Meanwhile 이지현 is reported missing and 박성철 misses a check-in.
    people.Person.objects.filter(pk=lee.pk).update(status="missing")
    open_checkin_alert(park, orgs[0], cw, key="missed:batch-test")
    outcome = services.link_person(ri.pk, chunk=chunk)
    assert len(outcome.linked) == 1
    alerts = Alert.objects.filter(kind=services.REAPPEARANCE_ALERT_KIND)
    assert alerts.get().key == f"reappearance:{lee.code}:{ri.code}"
    assert alerts.get().detail["status"] == "missing"
    # 박성철 / Pak Song Chol only reach the queue (no full date): no link, no alert yet.
    services.link_person(pak.pk, chunk=chunk)
    assert alerts.count() == 1
    item = ReviewItem.objects.get(status="pending")
    link = services.confirm(cw, item)
    assert link.method == "review"
    assert alerts.filter(key=f"reappearance:{park.code}:{pak.code}").exists()


def test_a_pair_of_two_people_of_one_chunk_is_decided_once(staff, linked, monkeypatch):
    from django.db import transaction

    made = []

    def work():
        with transaction.atomic():
            made.extend(_create_all(staff["caseworker"]))

    creates = []
    real = services._create_link
    monkeypatch.setattr(linking, "_create_link", lambda *a, **k: creates.append(1) or real(*a, **k))
    linked(work)
    # 0–1 and 3–4 are linked (and 2 with 0 and 1, or queued): each pair written once, by
    # whichever of its two people came first, and never queued once linked.
    assert len(creates) == PersonLink.objects.count() >= 2
    for link in PersonLink.objects.all():
        assert not ReviewItem.objects.filter(
            person_a=link.person_a, person_b=link.person_b, status="pending"
        ).exists()


def test_candidates_by_year_sex_and_province_are_the_newest_up_to_the_limit(
    staff, orgs, monkeypatch
):
    """The alias rule (no name in common): at most MAX_CANDIDATES per person, newest first,
    never the person itself — for one person and for a chunk, the same."""

    def saved(fn, *args, **kwargs):  # saved without running the on-commit linkage
        return fn(*args, **kwargs)

    cw = staff["caseworker"]
    cell = {"birth_year": 1968, "sex": "M", "province": "KP-10"}
    names = ["최광철", "한명수", "정영남", "윤태식", "문성호"]
    made = [make_person(saved, cw, name, **cell) for name in names]
    make_person(saved, cw, "오경일", birth_year=1968, sex="F", province="KP-10")  # other cell
    make_person(saved, staff["outsider"], "송기철", **cell)  # another organisation
    stamp = people.Person.objects.order_by("created_at").values_list("created_at", flat=True)
    for i, person in enumerate(made):  # distinct creation times, in list order
        people.Person.objects.filter(pk=person.pk).update(
            created_at=stamp[0].replace(year=2000 + i)
        )
    monkeypatch.setattr(candidates, "MAX_CANDIDATES", 2)
    features = services._load_features(made)
    newest, second = made[4], made[3]
    assert services.candidate_ids(made[0], features[made[0].pk], [names[0]]) == [
        newest.pk,
        second.pk,
    ]
    assert services.candidate_ids(newest, features[newest.pk], [names[4]]) == [
        second.pk,
        made[2].pk,
    ]
    search = {p.pk: set() for p in made}
    together = services._candidates(made, features, search)
    assert together[made[0].pk] == [newest.pk, second.pk]
    assert together[newest.pk] == [second.pk, made[2].pk]
    monkeypatch.setattr(candidates, "MAX_CANDIDATES", 300)
    assert set(services.candidate_ids(made[0], features[made[0].pk], [names[0]])) == {
        p.pk for p in made[1:]
    }
