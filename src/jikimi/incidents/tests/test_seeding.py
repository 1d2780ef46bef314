"""The vocabularies and the gazetteer are seeded from the data files, idempotently."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from jikimi.incidents.models import Place, PlaceName, Term
from jikimi.incidents.seeding import seed
from jikimi.lib import gazetteer

pytestmark = pytest.mark.django_db


def test_it_seeds_every_term_and_place_of_the_data_files():
    for vocabulary in gazetteer.VOCABULARIES:
        codes = {t.code for t in gazetteer.terms(vocabulary)}
        assert set(Term.objects.filter(vocabulary=vocabulary).values_list("code", flat=True)) == (
            codes
        )
    assert set(Place.objects.values_list("code", flat=True)) == {p.code for p in gazetteer.places()}
    for entry in gazetteer.places():
        for name in entry.names:
            found = PlaceName.objects.get(
                key=gazetteer.name_key(name), place__code=entry.code
            ).place
            assert (found.lat, found.lon) == (entry.lat, entry.lon)
        if entry.parent:
            assert Place.objects.get(code=entry.code).parent.code == entry.parent


def test_a_second_run_creates_nothing_and_keeps_an_administrators_changes():
    term = Term.objects.get(vocabulary="act_type", code="arrest")
    term.label_en, term.retired = "Arrest (renamed)", True
    term.save()
    counts = (Term.objects.count(), Place.objects.count(), PlaceName.objects.count())
    assert seed() == {"terms": 0, "places": 0, "names": 0}
    assert (Term.objects.count(), Place.objects.count(), PlaceName.objects.count()) == counts
    term.refresh_from_db()
    assert term.label_en == "Arrest (renamed)" and term.retired


def test_a_deleted_entry_comes_back_on_the_next_run():
    Term.objects.filter(vocabulary="perpetrator", code="broker").delete()
    place = Place.objects.filter(children__isnull=True).first()
    PlaceName.objects.filter(place=place).delete()
    place.delete()
    result = seed()
    assert result["terms"] == 1 and result["places"] == 1
    assert Term.objects.filter(vocabulary="perpetrator", code="broker").exists()
    assert PlaceName.objects.filter(place__code=place.code).exists()


def test_a_place_with_children_cannot_be_deleted():
    parent = Place.objects.filter(children__isnull=False).first()
    if parent is None:
        pytest.skip("the gazetteer has no nested places")
    with pytest.raises(ProtectedError):
        parent.delete()


def test_a_term_or_place_in_use_cannot_be_deleted_only_retired(staff):
    from django.utils import translation

    from jikimi.core.errors import InvalidInput
    from jikimi.incidents import services

    cw = staff["caseworker"]
    act = {"act_type": "arrest", "victim": {"name": "Han Kyong-ae"}}
    services.record_event(cw, title="Arrest", date="2017-07", place="Tumen", acts=[act])
    arrest = Term.objects.get(vocabulary="act_type", code="arrest")
    with pytest.raises(ProtectedError):
        arrest.delete()
    with pytest.raises(ProtectedError):
        Place.objects.get(code="cn-tumen").delete()
    arrest.retired = True
    arrest.save()
    with translation.override("en"), pytest.raises(InvalidInput) as err:
        services.record_event(cw, title="Arrest", date="2017-07", acts=[act])
    assert err.value.errors["acts[0].act_type"] == (
        "'arrest' is retired and cannot be used for new records"
    )
    assert "arrest" not in {t.code for t in services.list_terms("act_type")}
