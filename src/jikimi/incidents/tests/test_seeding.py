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
