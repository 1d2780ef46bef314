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


# --- the expanded gazetteer ---------------------------------------------------------------

# A dozen places, each with a name in every script it is known by (Korean as written in the
# South and as read from the Chinese characters, English in both romanizations, Chinese).
DOZEN = {
    "cn-tumen": ["투먼", "도문", "Tumen", "图们"],
    "cn-yanji": ["옌지", "연길", "Yanji", "延吉"],
    "cn-changbai": ["창바이", "장백", "Changbai", "长白"],
    "cn-longjing": ["룽징", "용정", "Longjing", "龙井"],
    "cn-helong": ["허룽", "화룡", "Helong", "和龙"],
    "cn-jian": ["지안", "집안", "Ji'an", "集安"],
    "cn-dandong": ["단둥", "단동", "Dandong", "丹东"],
    "cn-shenyang": ["선양", "심양", "Shenyang", "沈阳"],
    "kp-hoeryong": ["회령시", "회령", "Hoeryong", "Hoeryŏng", "Hoeryeong", "会宁"],
    "kp-sinuiju": ["신의주", "Sinuiju", "Sinŭiju", "新义州"],
    "kp-kyongwon": ["경원군", "새별군", "Kyongwon", "Gyeongwon", "Saeppyol", "庆源"],
    "kp-onsong": ["온성", "Onsong", "Onsŏng", "Onseong", "稳城"],
}


@pytest.mark.parametrize(("code", "names"), sorted(DOZEN.items()))
def test_every_name_of_a_dozen_places_finds_it_in_each_script(code, names):
    scripts = set()
    for name in names:
        place = gazetteer.find_place(name)
        assert place is not None and place.code == code, name
        scripts.add(_script(name))
    assert scripts == {"hangul", "latin", "han"}, code


def _script(name: str) -> str:
    ch = next(c for c in name if c.isalpha())
    if "\uac00" <= ch <= "\ud7a3":
        return "hangul"
    if "\u4e00" <= ch <= "\u9fff":
        return "han"
    return "latin"


def test_the_gazetteer_is_a_real_one_with_every_kind_the_incidents_need():
    entries = gazetteer.places()
    assert 120 <= len(entries) <= 250
    kinds = {p.kind for p in entries}
    assert {"province", "city", "county", "crossing", "detention", "transit"} <= kinds
    for kind, country, at_least in [
        ("crossing", None, 10),
        ("detention", "KP", 8),
        ("detention", "CN", 5),
        ("transit", None, 15),
    ]:
        found = [p for p in entries if p.kind == kind and country in (None, p.country)]
        assert len(found) >= at_least, (kind, country, len(found))
    # Places in China carry their Chinese name; so do North Korean ones (the common one).
    for p in entries:
        if p.country in ("CN", "KP"):
            assert p.zh, p.code


def test_the_seed_codes_are_kept():
    for code in [
        "kp-ryanggang",
        "kp-hyesan",
        "kp-north-hamgyong",
        "kp-musan",
        "kp-pyongyang",
        "kr-seoul",
        "cn-yanji",
        "cn-tumen",
        "cn-tumen-border-detention",
        "cn-dandong",
        "cn-shenyang",
        "th-bangkok",
    ]:
        assert gazetteer.by_code(code) is not None, code
    assert gazetteer.find_place("Tumen border detention") == gazetteer.by_code(
        "cn-tumen-border-detention"
    )


def test_every_north_korean_province_has_the_iso_code_of_lib_places():
    from jikimi.lib import places

    with_iso = [p for p in gazetteer.places() if p.iso]
    assert all(p.country == "KP" and p.parent is None for p in with_iso)
    assert sorted(p.iso for p in with_iso) == sorted(q.code for q in places.PROVINCES)
    for p in gazetteer.places():
        if p.country == "KP" and p.kind == "province":
            assert p.iso and places.by_code(p.iso), p.code
    # The Hangul name is the one of lib.places (or a stem of it: 평양 for 평양직할시).
    for p in with_iso:
        prov = places.by_code(p.iso)
        assert prov is not None
        assert prov.hangul in p.names or any(n.startswith(prov.hangul_stems) for n in p.names)


def test_the_rivers_and_cities_sharing_a_name_are_told_apart():
    assert gazetteer.find_place("Tumen").kind == "city"
    assert gazetteer.find_place("두만강").kind == "river"
    assert gazetteer.find_place("Tumen River").code == "r-tumen"


# Rough bounding boxes (lat_min, lat_max, lon_min, lon_max): a swapped lat/lon or a sign
# error lands outside them.
BOXES = {
    "KP": (37.6, 43.1, 124.1, 130.8),
    "KR": (33.0, 38.7, 124.5, 131.0),
    "CN": (18.0, 53.6, 73.0, 135.1),
    "RU": (41.1, 82.0, 19.0, 180.0),
    "MN": (41.5, 52.2, 87.7, 119.9),
    "LA": (13.9, 22.5, 100.0, 107.7),
    "TH": (5.6, 20.5, 97.3, 105.7),
    "MM": (9.5, 28.6, 92.1, 101.2),
    "VN": (8.5, 23.4, 102.1, 109.5),
    "KH": (10.4, 14.7, 102.3, 107.7),
}


def test_coordinates_lie_inside_their_country():
    for p in gazetteer.places():
        assert p.country in BOXES, p.code
        lat0, lat1, lon0, lon1 = BOXES[p.country]
        assert lat0 <= p.lat <= lat1 and lon0 <= p.lon <= lon1, (p.code, p.lat, p.lon)
        # Coordinates to 0.01°, as the data file says.
        assert round(p.lat, 2) == p.lat and round(p.lon, 2) == p.lon, p.code


def _km(a: str, b: str) -> float:
    pa, pb = gazetteer.find_place(a), gazetteer.find_place(b)
    assert pa and pb, (a, b)
    return gazetteer.distance_km(pa.lat, pa.lon, pb.lat, pb.lon)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Independent figures: the two towns face each other across a river (a few km);
        # Seoul–Pyongyang ≈ 195 km, Yanji–Tumen ≈ 28 km, Shenyang–Dandong ≈ 200 km,
        # Kunming–Vientiane ≈ 780 km, Vientiane–Bangkok ≈ 520 km, great circle.
        ("Dandong", "Sinuiju", 0, 5),
        ("Changbai", "Hyesan", 0, 5),
        ("Tumen", "Namyang", 0, 5),
        ("Linjiang", "Junggang", 0, 6),
        ("Seoul", "Pyongyang", 185, 205),
        ("Yanji", "Tumen", 24, 32),
        ("Shenyang", "Dandong", 185, 215),
        ("Kunming", "Vientiane", 740, 820),
        ("Vientiane", "Bangkok", 490, 550),
    ],
)
def test_distances_agree_with_independent_figures(a, b, low, high):
    assert low <= _km(a, b) <= high


def test_each_crossing_lies_between_the_towns_it_joins():
    for crossing, sides in [
        ("x-dandong-sinuiju", ("Dandong", "Sinuiju")),
        ("x-changbai-hyesan", ("Changbai", "Hyesan")),
        ("x-tumen-namyang", ("Tumen", "Namyang")),
        ("x-sanhe-hoeryong", ("Sanhe", "Hoeryong")),
        ("x-kaishantun-sambong", ("Kaishantun", "Sambong")),
        ("x-nanping-chilsong", ("Nanping", "Musan")),
        ("x-jian-manpo", ("Ji'an", "Manpo")),
        ("x-linjiang-junggang", ("Linjiang", "Junggang")),
    ]:
        x = gazetteer.by_code(crossing)
        assert x is not None and x.kind == "crossing"
        for side in sides:
            s = gazetteer.find_place(side)
            assert s is not None
            assert gazetteer.distance_km(x.lat, x.lon, s.lat, s.lon) < 12, (crossing, side)


def test_by_code_children_and_within_km():
    assert gazetteer.by_code("nowhere") is None
    ryanggang = {p.code for p in gazetteer.children("kp-ryanggang")}
    assert {"kp-hyesan", "kp-samjiyon", "kp-pochon"} <= ryanggang
    assert all(gazetteer.by_code(c).parent == "kp-ryanggang" for c in ryanggang)
    assert gazetteer.children("th-bangkok-idc") == ()

    tumen = gazetteer.by_code("cn-tumen")
    near = gazetteer.within_km(tumen.lat, tumen.lon, 10)
    distances = [d for _, d in near]
    assert distances == sorted(distances) and all(d <= 10 for d in distances)
    codes = [p.code for p, _ in near]
    assert codes[0] == "cn-tumen" and "kp-namyang" in codes and "cn-yanji" not in codes
    # Exactly the places within the radius: none left out.
    every = {
        p.code
        for p in gazetteer.places()
        if gazetteer.distance_km(tumen.lat, tumen.lon, p.lat, p.lon) <= 10
    }
    assert set(codes) == every
    only = gazetteer.within_km(tumen.lat, tumen.lon, 10, kinds={"detention"})
    assert [p.code for p, _ in only] == ["cn-tumen-border-detention"]


def test_approximate_positions_say_so():
    for p in gazetteer.places():
        if p.kind == "detention" or p.kind == "river":
            assert p.note, p.code


def test_terms_may_carry_a_description():
    for t in gazetteer.terms("act_type"):
        assert t.description_ko.strip() and t.description_en.strip(), t.code
    assert gazetteer.terms("source_kind")[0].description_en == ""
