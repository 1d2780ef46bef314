"""'Within N km' is the great-circle distance, exactly, at the boundary (issue #14).

The act list resolves the distance to the gazetteer's close places (acts at a place carry its
coordinates) and, for acts whose coordinates were typed in, to the points inside the circle's
bounding box. Here acts are put a few metres inside and outside the circle, all round it —
where the circle is widest in longitude (away from the centre's parallel, towards the pole),
across the antimeridian, around a pole, south of the equator — and the list must find exactly
the acts that a distance computed here, another way (the chord between the two points on the
unit sphere), puts within the distance.
"""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jikimi.incidents import services
from jikimi.incidents.models import Act, Place

pytestmark = pytest.mark.django_db

RADIUS_KM = 6371.0088  # the mean Earth radius the list measures with


def _unit(lat: float, lon: float) -> tuple[float, float, float]:
    p, lam = math.radians(lat), math.radians(lon)
    return (math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p))


def chord_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance from the straight chord between the points (not haversine)."""
    chord = math.dist(_unit(lat1, lon1), _unit(lat2, lon2))
    return 2 * RADIUS_KM * math.asin(min(1.0, chord / 2))


def destination(lat: float, lon: float, bearing: float, km: float) -> tuple[float, float]:
    """The point `km` from (lat, lon) setting off on `bearing` (degrees from north)."""
    p1, l1, t, d = math.radians(lat), math.radians(lon), math.radians(bearing), km / RADIUS_KM
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(t))
    l2 = l1 + math.atan2(
        math.sin(t) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def _bearings(lat: float, km: float) -> list[float]:
    """Every 30 degrees, and the two bearings where the circle reaches its farthest east and
    west (past the centre's parallel towards the pole: what a box of `km` over the parallel's
    length misses)."""
    found = [float(b) for b in range(0, 360, 30)]
    widest = math.tan(km / RADIUS_KM) * math.tan(math.radians(abs(lat)))
    if widest < 1:
        b = math.degrees(math.acos(widest))
        b = b if lat >= 0 else 180 - b
        found += [b, 360 - b]
    return found


# (centre lat, lon, km): the border, far north (the widest longitude off the parallel), over
# the antimeridian, around the North Pole, and south of the equator.
CIRCLES = [
    (42.9, 129.5, 100.0),
    (60.0, 100.0, 500.0),
    (66.0, 179.6, 200.0),
    (89.2, 10.0, 300.0),
    (-34.5, -58.4, 1200.0),
]
MARGIN_KM = 0.01  # ten metres inside and outside; typed coordinates keep six decimals (0.1 m)


def _typed(lat: float, lon: float) -> str:
    return f"{lat:.6f},{lon:.6f}"


def _act(victim: str, place: str) -> dict:
    return {"act_type": "arrest", "victim": victim, "place": place}


@pytest.fixture
def ring(staff):
    """Acts typed in just inside and just outside each circle, all round it, and acts at three
    gazetteer places; all of one victim."""
    from jikimi.people import services as people

    cw = staff["caseworker"]
    victim = people.create_person(cw, name="Kim Sun-hui").code
    for lat, lon, km in CIRCLES:
        acts = []
        for bearing in _bearings(lat, km):
            for d in (km - MARGIN_KM, km + MARGIN_KM):
                acts.append(_act(victim, _typed(*destination(lat, lon, bearing, d))))
        services.record_event(cw, title="Ring", date="2020-05", place=_typed(lat, lon), acts=acts)
    services.record_event(
        cw,
        title="Places",
        date="2021",
        place="Tumen",
        acts=[_act(victim, p) for p in ("Tumen", "Yanji", "Hyesan")],
    )
    return cw


def _expected(user, lat: float, lon: float, km: float) -> set[str]:
    """The acts within `km`, by the chord distance from each act's own coordinates (a place's,
    for an act at a place)."""
    found = set()
    for act in Act.objects.filter(organisation_id=user.organisation_id).select_related("place"):
        where = (act.place.lat, act.place.lon) if act.place else (act.lat, act.lon)
        if chord_km(lat, lon, *where) <= km:
            found.add(str(act.pk))
    return found


def _listed(user, near: str, km: float) -> set[str]:
    rows, total = services.list_acts(user, {"near": near, "within_km": repr(km)}, limit=1000)
    assert total == len(rows)
    return {r.id for r in rows}


@pytest.mark.parametrize("max_points", [500, 0], ids=["by-point", "act-by-act"])
@pytest.mark.parametrize("circle", CIRCLES, ids=lambda c: f"{c[0]},{c[1]}+{c[2]:g}km")
def test_within_km_is_exact_at_the_boundary(ring, monkeypatch, circle, max_points):
    monkeypatch.setattr(services, "MAX_POINTS", max_points)
    lat, lon, km = circle
    expected = _expected(ring, lat, lon, km)
    inside = len(_bearings(lat, km))
    assert len(expected) >= inside  # each ring's inner points (the test proves something)
    assert _listed(ring, _typed(lat, lon), km) == expected


@pytest.mark.parametrize("code", ["cn-yanji", "kp-hyesan"])
@pytest.mark.parametrize("bearing", [10.0, 100.0, 250.0])
def test_a_place_at_the_distance_is_in_and_a_step_further_out(ring, code, bearing):
    """A centre set off 37 km from a gazetteer place: the place's acts are listed from 37 km
    plus ten metres, not at 37 km less ten metres — as the independent distance says."""
    place = Place.objects.get(code=code)
    lat, lon = destination(place.lat, place.lon, bearing, 37.0)
    near = _typed(lat, lon)
    lat, lon = (float(x) for x in near.split(","))
    d = chord_km(lat, lon, place.lat, place.lon)
    at_place = {str(a.pk) for a in Act.objects.filter(place=place)}
    for km in (d - MARGIN_KM, d + MARGIN_KM, 20.0, 60.0, 400.0):
        found = _listed(ring, near, km)
        assert found == _expected(ring, lat, lon, km)
        assert (at_place <= found) == (km >= d)


def test_within_km_reads_the_close_places_not_each_acts_distance(ring):
    """Acts at places are found by `place_id IN (the close places)`: the list's query compares
    no act's coordinates; only the typed-in acts (no place) are read by their box."""
    with CaptureQueriesContext(connection) as queries:
        rows, total = services.list_acts(ring, {"near": "Yanji", "within_km": "60"})
    assert {r.place.code for r in rows if r.place} == {"cn-yanji", "cn-tumen"} and total == 2
    acts = [q["sql"] for q in queries if 'FROM "incidents_act"' in q["sql"]]
    page = [sql for sql in acts if "ORDER BY" in sql and "LIMIT" in sql]
    count = [sql for sql in acts if "COUNT(" in sql]
    assert page and count
    for sql in page + count:
        assert '"place_id" IN' in sql
    for sql in acts:  # coordinates compared only for the acts without a place
        assert '"lat" >=' not in sql or '"place_id" IS NULL' in sql
