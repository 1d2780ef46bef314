"""People saved in one transaction (an import) are linked as one batch after the commit,
with the same decisions as one at a time, and one failure does not stop the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from jikimi.linkage import services
from jikimi.linkage.models import PersonLink, ReviewItem
from jikimi.linkage.tests.test_review import linked, make_person
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

    from jikimi.checkins.models import Alert

    real = services.link_person
    broken_name = {"value": None}

    def sometimes_broken(person_id, **kwargs):
        if person_id == broken_name["value"]:
            raise RuntimeError("scoring failed")
        return real(person_id, **kwargs)

    monkeypatch.setattr(services, "link_person", sometimes_broken)

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

    from jikimi.checkins.models import Alert

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
