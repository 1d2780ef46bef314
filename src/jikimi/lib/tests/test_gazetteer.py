"""The vocabularies and gazetteer data files, read by `jikimi.lib.gazetteer`."""

from __future__ import annotations

import pytest

from jikimi.lib import gazetteer


def test_act_types_are_the_ten_codes_of_the_incident_format():
    codes = [t.code for t in gazetteer.terms("act_type")]
    assert codes == [
        "coerced_family_contact",
        "agent_approach",
        "lure_offer",
        "abduction_attempt",
        "abduction",
        "arrest",
        "forced_repatriation",
        "claimed_voluntary_return",
        "nk_media_appearance",
        "disappearance",
    ]


def test_every_vocabulary_has_korean_and_english_labels_and_unique_codes():
    for name in gazetteer.VOCABULARIES:
        terms = gazetteer.terms(name)
        assert terms, name
        assert len({t.code for t in terms}) == len(terms), name
        for t in terms:
            assert t.ko.strip() and t.en.strip(), (name, t.code)


def test_grades_are_the_admiralty_scale():
    assert [t.code for t in gazetteer.terms("source_reliability")] == list("ABCDEF")
    assert [t.code for t in gazetteer.terms("information_credibility")] == list("123456")


@pytest.mark.parametrize("name", ["투먼", "Tumen", "图们", " TU-MEN ", "tumen"])
def test_any_name_of_a_place_finds_it(name):
    place = gazetteer.find_place(name)
    assert place is not None and place.code == "cn-tumen"


def test_places_have_unique_codes_known_parents_and_coordinates_in_range():
    entries = gazetteer.places()
    codes = [p.code for p in entries]
    assert len(set(codes)) == len(codes)
    for p in entries:
        assert p.parent is None or p.parent in codes, p.code
        assert -90 <= p.lat <= 90 and -180 <= p.lon <= 180, p.code
        assert p.ko and p.en, p.code


def test_no_name_names_two_places():
    owner: dict[str, str] = {}
    for p in gazetteer.places():
        for n in p.names:
            key = gazetteer.name_key(n)
            assert owner.setdefault(key, p.code) == p.code, (n, owner[key], p.code)


def test_an_unknown_name_is_none_and_the_nearest_names_are_offered():
    assert gazetteer.find_place("Tumenn") is None
    assert "Tumen" in gazetteer.nearest_names("Tumenn", ["Tumen", "Yanji", "Dandong"])


def test_distance_between_tumen_and_yanji_is_about_28_km():
    # Independent figure: the two city centres are ~27–29 km apart on the map.
    tumen, yanji = gazetteer.find_place("Tumen"), gazetteer.find_place("Yanji")
    assert tumen and yanji
    assert 24 < gazetteer.distance_km(tumen.lat, tumen.lon, yanji.lat, yanji.lon) < 32
