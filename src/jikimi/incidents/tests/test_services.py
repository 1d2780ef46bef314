"""Recording and reading incidents through the services: validation, access, filters."""

from __future__ import annotations

import pytest

from jikimi.audit.models import AuditEvent
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound
from jikimi.incidents import services
from jikimi.incidents.models import Act, Event, Information, Involvement, Source
from jikimi.people import services as people
from jikimi.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The messages asserted below are the English ones (tests start in Korean)."""
    from django.utils import translation

    with translation.override("en"):
        yield


def _act(**over):
    act = {
        "act_type": "arrest",
        "victim": {
            "name": "Han Kyong-ae",
            "name_hangul": "한경애",
            "birth_date": "1995-11-30",
            "sex": "F",
            "province": "함경북도",
        },
        "involvements": [
            {"perpetrator": "chinese_public_security_bureau", "involvement": "carried_out"}
        ],
        "information": [
            {"source": "family_report", "source_reliability": "A", "information_credibility": "2"}
        ],
    }
    act.update(over)
    return act


def _record(user, *, acts=None, **over):
    fields = {
        "title": "Arrest after crossing",
        "description": "Part of a group",
        "date": "2017-07-15/2017-07-16",
        "place": "Tumen",
    }
    fields.update(over)
    return services.record_event(user, acts=acts if acts is not None else [_act()], **fields)


def test_it_records_an_event_with_a_new_victim_as_a_person_record(staff):
    cw = staff["caseworker"]
    event = _record(cw)
    assert event.code.startswith("E-")
    assert (event.date_start.isoformat(), event.date_end.isoformat()) == (
        "2017-07-15",
        "2017-07-16",
    )
    assert event.date_precision == "day" and event.place.code == "cn-tumen"
    act = Act.objects.get(event=event)
    assert act.place.code == "cn-tumen" and act.date_text == "2017-07-15/2017-07-16"
    victim = act.victim
    assert victim.organisation_id == cw.organisation_id
    assert (victim.birth_year, victim.sex, victim.province) == (1995, "F", "KP-09")
    values = sorted(i["value"] for i in people.identities_of(cw, victim))
    assert values == ["1995-11-30", "Han Kyong-ae", "한경애"]
    inv = Involvement.objects.get(act=act)
    assert (inv.perpetrator.code, inv.degree.code) == (
        "chinese_public_security_bureau",
        "carried_out",
    )
    info = Information.objects.get(act=act)
    assert (info.source.kind.code, info.reliability, info.credibility) == (
        "family_report",
        "A",
        "2",
    )
    assert AuditEvent.objects.filter(action="incident.create", object_ref=event.code).exists()


def test_the_text_is_encrypted_at_rest(staff):
    from django.db import connection

    event = _record(staff["caseworker"], title="Mother made to phone", description="Agents beside")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT title, description FROM incidents_event WHERE id = %s", [event.pk.hex]
        )
        title, description = cursor.fetchone()
    assert "Mother" not in title and "Agents" not in description
    assert Event.objects.get(pk=event.pk).title == "Mother made to phone"


def test_an_existing_person_named_by_code_is_reused(staff):
    cw = staff["caseworker"]
    person = people.create_person(cw, name="Kim Yong-ho")
    before = Person.objects.count()
    event = _record(cw, acts=[_act(victim=person.code, act_type="lure_offer")])
    assert Act.objects.get(event=event).victim == person
    assert Person.objects.count() == before


def test_another_organisations_person_cannot_be_named(staff):
    theirs = people.create_person(staff["outsider"], name="Kim Yong-ho")
    with pytest.raises(InvalidInput) as err:
        _record(staff["caseworker"], acts=[_act(victim=theirs.code)])
    assert "acts[0].victim" in err.value.errors


@pytest.mark.parametrize(
    ("over", "act_over", "key", "text"),
    [
        ({"date": "2017-13"}, {}, "date", "month 13 is not between 1 and 12"),
        (
            {"date": "2017-07-16/2017-07-15"},
            {},
            "date",
            "the range ends (2017-07-15) before it starts (2017-07-16)",
        ),
        (
            {},
            {"information": [{"source": "media", "source_reliability": "G"}]},
            "acts[0].information[0].source_reliability",
            "G is not a grade A–F",
        ),
        (
            {},
            {"information": [{"source": "media", "information_credibility": "7"}]},
            "acts[0].information[0].information_credibility",
            "7 is not a grade 1–6",
        ),
        ({"place": "Tumenn"}, {}, "place", "unknown place 'Tumenn'; the nearest known places: "),
        (
            {},
            {"act_type": "abducton"},
            "acts[0].act_type",
            "unknown term 'abducton'; the nearest known terms: abduction",
        ),
        (
            {},
            {"involvements": [{"perpetrator": "nobody"}]},
            "acts[0].involvements[0].perpetrator",
            "unknown term 'nobody'",
        ),
        ({"title": ""}, {}, "title", "is empty (required)"),
        (
            {},
            {"victim": {"name": "Kim", "birth_date": "1990-02-30"}},
            "acts[0].victim.birth_date",
            "day 30 does not exist in 1990-02",
        ),
        (
            {},
            {"victim": {"name": "Kim", "province": "Atlantis"}},
            "acts[0].victim.province",
            "'Atlantis' is not a province",
        ),
        ({"place": "95,10"}, {}, "place", "'95,10' is not a latitude,longitude pair"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    staff, over, act_over, key, text
):
    counts = (
        Event.objects.count(),
        Act.objects.count(),
        Person.objects.count(),
        Source.objects.count(),
    )
    with pytest.raises(InvalidInput) as err:
        _record(staff["caseworker"], acts=[_act(**act_over)], **over)
    assert err.value.errors[key].startswith(text), err.value.errors
    assert (
        Event.objects.count(),
        Act.objects.count(),
        Person.objects.count(),
        Source.objects.count(),
    ) == counts


def test_the_nearest_places_are_named(staff):
    with pytest.raises(InvalidInput) as err:
        _record(staff["caseworker"], place="Tumenn")
    assert "Tumen" in err.value.errors["place"]


def test_messages_are_korean_in_a_korean_request(staff):
    from django.utils import translation

    with translation.override("ko"), pytest.raises(InvalidInput) as err:
        _record(
            staff["caseworker"],
            acts=[_act(information=[{"source": "media", "source_reliability": "G"}])],
        )
    message = err.value.errors["acts[0].information[0].source_reliability"]
    assert "G" in message and "등급" in message


def test_a_failure_while_writing_leaves_nothing(staff, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_write_links", broken)
    with pytest.raises(RuntimeError):
        _record(staff["caseworker"])
    assert not Event.objects.exists() and not Person.objects.exists()


def test_analysts_cannot_record(staff):
    with pytest.raises(AccessDenied):
        _record(staff["analyst"])


def test_another_organisations_event_and_acts_are_not_found(staff):
    event = _record(staff["caseworker"])
    outsider = staff["outsider"]
    with pytest.raises(NotFound):
        services.get_event(outsider, event.code)
    assert services.list_acts(outsider) == ([], 0)
    assert services.list_acts(outsider, {"event": event.code}) == ([], 0)
    victim = Act.objects.get(event=event).victim
    assert services.acts_of_person(outsider, victim) == []
    assert services.get_event(staff["supervisor"], event.code) == event
    assert AuditEvent.objects.filter(action="incident.not_found", actor_id=outsider.pk).exists()


def test_an_analyst_reads_the_structure_without_names(staff):
    event = _record(staff["caseworker"])
    analyst = staff["analyst"]
    detail = services.event_detail(analyst, services.get_event(analyst, event.code))
    assert detail.title == "" and detail.acts[0].victim_name is None
    assert detail.acts[0].act_type.code == "arrest"
    detail = services.event_detail(staff["caseworker"], event)
    assert detail.title == "Arrest after crossing" and detail.acts[0].victim_name == "Han Kyong-ae"


@pytest.fixture
def three_events(staff):
    cw = staff["caseworker"]
    tumen = _record(cw)  # arrest at Tumen, 2017-07-15/16, CPSB, family_report A
    hyesan = _record(
        cw,
        date="2018-05",
        place="혜산시",
        acts=[
            _act(
                act_type="coerced_family_contact",
                involvements=[
                    {"perpetrator": "state_security_department", "involvement": "ordered"}
                ],
                information=[{"source": "case_file", "source_reliability": "C"}],
            )
        ],
    )
    bangkok = _record(
        cw,
        date="2020-01-11",
        place="방콕",
        acts=[
            _act(
                act_type="agent_approach",
                involvements=[],
                information=[{"source": "Daily NK", "source_reliability": "D"}],
            )
        ],
        involvements=[{"perpetrator": "state_security_department"}],
    )
    return tumen, hyesan, bangkok


def _events(rows):
    return {r.event for r in rows}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {0, 1, 2}),
        ({"act_type": "arrest"}, {0}),
        ({"act_type": "강제송환"}, set()),
        ({"date_from": "2018", "date_to": "2018-12"}, {1}),
        ({"date_from": "2017-07-16"}, {0, 1, 2}),
        ({"date_to": "2017-07-14"}, set()),
        ({"place": "Ryanggang"}, {1}),  # a province finds its city
        ({"place": "图们"}, {0}),
        ({"near": "Yanji", "within_km": "60"}, {0}),  # Tumen is ~45 km from Yanji
        ({"near": "Yanji", "within_km": "20"}, set()),
        ({"near": "42.9,129.85", "within_km": "400"}, {0, 1}),
        ({"perpetrator": "state_security_department"}, {1, 2}),  # 2 through the event
        ({"source_kind": "case_file"}, {1}),
        ({"reliability": "C"}, {0, 1}),
        ({"reliability": "A"}, {0}),
    ],
)
def test_the_act_list_filters(three_events, staff, filters, expected):
    rows, total = services.list_acts(staff["caseworker"], filters)
    assert _events(rows) == {three_events[i].code for i in expected}
    assert total == len(rows)


def test_within_km_is_the_great_circle_not_the_box(three_events, staff):
    from jikimi.lib import gazetteer

    tumen = three_events[0].place
    # A box corner is farther than its half side: the box lets the act in, the distance not.
    rows, _ = services.list_acts(
        staff["caseworker"], {"near": f"{tumen.lat + 0.3},{tumen.lon + 0.4}", "within_km": "45"}
    )
    d = gazetteer.distance_km(tumen.lat + 0.3, tumen.lon + 0.4, tumen.lat, tumen.lon)
    assert d > 45 and rows == []
    rows, _ = services.list_acts(
        staff["caseworker"],
        {"near": f"{tumen.lat + 0.3},{tumen.lon + 0.4}", "within_km": str(d + 1)},
    )
    assert _events(rows) == {three_events[0].code}


def test_the_act_list_pages(three_events, staff):
    rows, total = services.list_acts(staff["caseworker"], {}, offset=1, limit=1)
    assert total == 3 and len(rows) == 1
    assert rows[0].event == three_events[1].code  # newest first: 2020, 2018, 2017


@pytest.mark.parametrize(
    ("filters", "key"),
    [
        ({"act_type": "nothing"}, "act_type"),
        ({"date_from": "2017-13"}, "date_from"),
        ({"near": "Yanji"}, "within_km"),
        ({"within_km": "5"}, "near"),
        ({"near": "Yanji", "within_km": "far"}, "within_km"),
        ({"near": "Yanji", "within_km": "-1"}, "within_km"),
        ({"reliability": "G"}, "reliability"),
        ({"place": "Atlantis"}, "place"),
    ],
)
def test_bad_filters_name_the_filter(three_events, staff, filters, key):
    with pytest.raises(InvalidInput) as err:
        services.list_acts(staff["caseworker"], filters)
    assert key in err.value.errors


def test_acts_of_a_person(three_events, staff):
    cw = staff["caseworker"]
    victim = Act.objects.get(event=three_events[0]).victim
    again = _record(
        cw, acts=[_act(victim=victim.code, act_type="forced_repatriation")], date="2017-08"
    )
    rows = services.acts_of_person(cw, victim)
    assert [r.event for r in rows] == [again.code, three_events[0].code]


def test_a_named_source_is_one_source_found_again(staff):
    cw = staff["caseworker"]
    info = [{"source": "Daily NK", "source_reliability": "C"}]
    _record(cw, acts=[_act(information=info)])
    _record(cw, acts=[_act(information=info)])
    named = Source.objects.filter(kind__isnull=True)
    assert named.count() == 1 and named.get().label == "Daily NK"


def test_within_km_act_by_act_when_the_box_holds_many_points(three_events, staff, monkeypatch):
    monkeypatch.setattr(services, "MAX_POINTS", 0)
    rows, total = services.list_acts(staff["caseworker"], {"near": "Yanji", "within_km": "60"})
    assert _events(rows) == {three_events[0].code} and total == 1


@pytest.mark.parametrize("max_points", [500, 0])
def test_within_km_finds_acts_at_typed_coordinates(three_events, staff, monkeypatch, max_points):
    """Acts at a place are found through their place's distance; acts whose coordinates were
    typed in (no place) through their own point, distinct points or act by act."""
    from jikimi.lib import gazetteer

    monkeypatch.setattr(services, "MAX_POINTS", max_points)
    cw = staff["caseworker"]
    typed = _record(cw, place="42.95,129.95")  # ~10 km east of Tumen, no gazetteer place
    assert typed.place is None
    tumen = three_events[0].place
    d = gazetteer.distance_km(tumen.lat, tumen.lon, 42.95, 129.95)
    both = {three_events[0].code, typed.code}
    rows, total = services.list_acts(cw, {"near": "Tumen", "within_km": str(d + 1)})
    assert _events(rows) == both and total == 2
    rows, total = services.list_acts(cw, {"near": "Tumen", "within_km": str(d - 1)})
    assert _events(rows) == {three_events[0].code} and total == 1
    rows, _ = services.list_acts(cw, {"near": "42.95,129.95", "within_km": "1"})
    assert _events(rows) == {typed.code}


def test_the_count_stops_at_the_cap(three_events, staff, monkeypatch):
    monkeypatch.setattr(services, "COUNT_CAP", 2)
    rows, total = services.list_acts(staff["caseworker"], {})
    assert total == 3 > services.COUNT_CAP and len(rows) == 3  # "more than 2"
