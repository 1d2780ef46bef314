"""The incident pages: the list and its filters, recording an event (every error at its field,
nothing saved), an event, a person's acts, and the vocabulary and gazetteer administration."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jikimi.incidents.models import Act, Event, Information, Involvement, Place, Term
from jikimi.people import services as people
from jikimi.people.models import Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(staff):
    return people.create_person(staff["caseworker"], name="이지현", birth_year=1988, sex="F")


def _form(**changes) -> dict[str, str]:
    """A complete new-event form: two acts (a new victim, a known person), a perpetrator,
    a graded source; `changes` replace or add fields."""
    data = {
        "title": "Arrest near the Tumen bridge",
        "description": "Two women taken by the border police",
        "date": "2018-06",
        "place": "투먼",
        "source_kind": "family_report",
        "source": "",
        "source_reliability": "B",
        "information_credibility": "2",
        "act-0-victim_name": "Choe Myong-hui",
        "act-0-victim_name_hangul": "최명희",
        "act-0-victim_birth_date": "1961",
        "act-0-victim_sex": "F",
        "act-0-victim_province": "KP-10",
        "act-0-act_type": "arrest",
        "act-0-perpetrator": "chinese_public_security_bureau",
        "act-0-involvement": "carried_out",
        "act-1-act_type": "forced_repatriation",
        "act-1-perpetrator": "chinese_public_security_bureau",
        "act-1-involvement": "carried_out",
    }
    data.update(changes)
    return data


def _errors(body: str) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]+)<', body)


def _field_error(body: str, field_id: str) -> str:
    """The error text under the field of this id ("" when there is none)."""
    match = re.search(
        rf'id="{field_id}".*?(?:class="field-error"[^>]*>([^<]+)<|</div>)', body, re.S
    )
    return (match.group(1) or "") if match else ""


def _nothing_saved(people_before: int) -> None:
    assert Event.objects.count() == Act.objects.count() == 0
    assert Information.objects.count() == Involvement.objects.count() == 0
    assert Person.objects.count() == people_before


def test_it_records_an_event_with_two_acts_a_perpetrator_and_a_graded_source(
    client, staff, login, known
):
    login(client, staff["caseworker"])
    response = client.post(reverse("incidents:new"), _form(**{"act-1-victim_code": known.code}))
    assert response.status_code == 302, _errors(response.content.decode())
    event = Event.objects.get()
    assert response["Location"] == reverse("incidents:detail", args=[event.code])
    assert event.place.code == "cn-tumen" and event.date_precision == "month"
    acts = list(event.acts.select_related("act_type", "victim"))
    assert sorted(a.act_type.code for a in acts) == ["arrest", "forced_repatriation"]
    assert known in [a.victim for a in acts]
    new_victim = next(a.victim for a in acts if a.victim != known)
    assert new_victim.display_name == "Choe Myong-hui" and new_victim.birth_year == 1961
    assert {i.perpetrator.code for i in Involvement.objects.all()} == {
        "chinese_public_security_bureau"
    }
    assert {(i.reliability, i.credibility) for i in Information.objects.all()} == {("B", "2")}

    page = client.get(response["Location"]).content.decode()
    assert "Arrest near the Tumen bridge" in page and known.code in page and "이지현" in page
    assert "투먼" in page and "2018-06" in page and ">B2<" in page
    assert "중국 공안" in page  # the perpetrator's Korean label


@pytest.mark.parametrize(
    ("changes", "field_id", "expected"),
    [
        ({"date": "2017-13"}, "id_date", "13"),
        ({"date": "2018-06/2018-05"}, "id_date", "2018-05"),
        ({"place": "Yanjii"}, "id_place", "Yanji"),
        ({"source_reliability": "G"}, "id_source_reliability", "G"),
        ({"information_credibility": "7"}, "id_information_credibility", "7"),
        ({"act-0-act_type": ""}, "id_act-0-act_type", ""),
        ({"act-1-victim_code": "P-NONE-XXXX"}, "id_act-1-victim_code", "P-NONE-XXXX"),
    ],
    ids=[
        "month-13",
        "range-backwards",
        "unknown-place",
        "grade-G",
        "credibility-7",
        "no-act",
        "unknown-victim",
    ],
)
def test_it_shows_each_error_at_its_field_and_saves_nothing(
    client, staff, login, changes, field_id, expected
):
    before = Person.objects.count()
    login(client, staff["caseworker"])
    data = _form(**{"act-1-victim_code": "", **changes})
    if "act-1-victim_code" not in changes:
        data = {k: v for k, v in data.items() if not k.startswith("act-1-")}
    response = client.post(reverse("incidents:new"), data)
    body = response.content.decode()
    assert response.status_code == 400
    message = _field_error(body, field_id)
    assert message and expected in message, (field_id, _errors(body))
    _nothing_saved(before)
    # What was typed is kept for the correction.
    assert 'value="Arrest near the Tumen bridge"' in body


def test_an_unknown_place_names_the_nearest_known_places_in_english_too(client, staff, login):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("incidents:new"), _form(place="Tumenn"), HTTP_ACCEPT_LANGUAGE="en"
    )
    message = _field_error(response.content.decode(), "id_place")
    assert "Tumenn" in message and "Tumen" in message.replace("Tumenn", "")


def test_it_reports_every_error_at_once(client, staff, login):
    login(client, staff["caseworker"])
    response = client.post(
        reverse("incidents:new"), _form(date="2017-13", place="Nowhere-ville", title="")
    )
    body = response.content.decode()
    for field_id in ("id_title", "id_date", "id_place"):
        assert _field_error(body, field_id), field_id


def test_blank_rows_are_ignored_but_one_act_is_needed(client, staff, login):
    login(client, staff["caseworker"])
    data = {k: v for k, v in _form().items() if not k.startswith("act-")}
    response = client.post(reverse("incidents:new"), data)
    assert response.status_code == 400 and Event.objects.count() == 0


def test_add_another_act_without_javascript_keeps_what_was_typed(client, staff, login):
    login(client, staff["caseworker"])
    response = client.post(reverse("incidents:new"), {**_form(), "add_act": "1"})
    body = response.content.decode()
    assert response.status_code == 200 and Event.objects.count() == 0
    assert 'name="act-3-act_type"' in body and 'value="Choe Myong-hui"' in body
    fragment = client.get(reverse("incidents:act_row") + "?index=4").content.decode()
    assert 'name="act-4-act_type"' in fragment and "<html" not in fragment
    assert "index=5" in fragment and 'hx-swap-oob="true"' in fragment


@pytest.mark.parametrize("role", ["analyst", "auditor"])
def test_analysts_and_auditors_cannot_record(client, staff, login, role):
    login(client, staff[role])
    assert client.get(reverse("incidents:new")).status_code == 403
    assert client.post(reverse("incidents:new"), _form()).status_code == 403
    assert Event.objects.count() == 0
    listing = client.get(reverse("incidents:list")).content.decode()
    assert reverse("incidents:new") not in listing


@pytest.fixture
def event(client, staff, login, known):
    login(client, staff["caseworker"])
    response = client.post(reverse("incidents:new"), _form(**{"act-1-victim_code": known.code}))
    assert response.status_code == 302
    client.logout()
    return Event.objects.get()


def test_another_organisations_event_and_acts_are_404(client, staff, login, event, known):
    login(client, staff["outsider"])
    assert client.get(reverse("incidents:detail", args=[event.code])).status_code == 404
    assert client.get(reverse("incidents:detail", args=["E-NONE-XXXX"])).status_code == 404
    assert client.get(reverse("incidents:person", args=[known.code])).status_code == 404
    listing = client.get(reverse("incidents:list")).content.decode()
    assert event.code not in listing and "empty-state" in listing


@pytest.mark.parametrize("place", ["图们", "Tumen", "투먼", "도문"])
def test_the_list_finds_acts_by_any_name_of_the_place(client, staff, login, event, place):
    login(client, staff["caseworker"])
    body = client.get(reverse("incidents:list"), {"place": place}).content.decode()
    assert body.count(f'href="/incidents/{event.code}"') == 2  # both acts
    other = client.get(reverse("incidents:list"), {"place": "Hyesan"}).content.decode()
    assert event.code not in other and "empty-state" in other


def test_the_list_filters_within_n_km_of_a_place(client, staff, login, event):
    login(client, staff["caseworker"])
    # Yanji is about 28 km from Tumen.
    near = client.get(reverse("incidents:list"), {"place": "延吉", "within_km": "40"})
    far = client.get(reverse("incidents:list"), {"place": "延吉", "within_km": "10"})
    assert event.code in near.content.decode()
    assert event.code not in far.content.decode()


def test_the_list_filters_by_act_perpetrator_source_and_grade(client, staff, login, event):
    login(client, staff["caseworker"])
    url = reverse("incidents:list")

    def shown(**params) -> int:
        return client.get(url, params).content.decode().count(f'href="/incidents/{event.code}"')

    assert shown(act_type="arrest") == 1
    assert shown(act_type="abduction") == 0
    assert shown(perpetrator="chinese_public_security_bureau") == 2
    assert shown(perpetrator="broker") == 0
    assert shown(source_kind="family_report") == 2
    assert shown(reliability="B") == 2 and shown(reliability="A") == 0
    assert shown(date_from="2018", date_to="2018-06") == 2
    assert shown(date_from="2019") == 0


def test_the_list_shows_date_precision_grades_and_victims(client, staff, login, event, known):
    login(client, staff["caseworker"])
    body = client.get(reverse("incidents:list")).content.decode()
    assert "2018-06" in body and ">B2<" in body and known.code in body and "이지현" in body
    assert "체포·구금" in body  # the act type in Korean
    english = client.get(reverse("incidents:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Arrest or detention" in english and "Tumen" in english


def test_analysts_see_acts_without_names(client, staff, login, event, known):
    login(client, staff["analyst"])
    body = client.get(reverse("incidents:list")).content.decode()
    assert known.code in body and "이지현" not in body and "Choe" not in body
    assert "Arrest near the Tumen bridge" not in body
    detail = client.get(reverse("incidents:detail", args=[event.code])).content.decode()
    assert known.code in detail and "이지현" not in detail and "Two women" not in detail


@pytest.mark.parametrize(
    ("params", "field_id"),
    [
        ({"date_from": "2017-13"}, "id_date_from"),
        ({"date_from": "2019", "date_to": "2018"}, "id_date_to"),
        ({"place": "Nowhere-ville"}, "id_place"),
        ({"within_km": "10"}, "id_place"),
        ({"reliability": "G"}, "id_reliability"),
    ],
)
def test_a_refused_filter_names_its_field_and_filters_nothing(
    client, staff, login, event, params, field_id
):
    login(client, staff["caseworker"])
    response = client.get(reverse("incidents:list"), params)
    body = response.content.decode()
    assert response.status_code == 400
    assert _field_error(body, field_id), _errors(body)
    assert event.code in body  # the whole list, not a wrong subset


def test_the_list_pages_by_fifty(client, staff, login, known):
    from jikimi.incidents import services

    worker = staff["caseworker"]
    services.record_event(
        worker,
        title="Many",
        date="2019",
        place="Yanji",
        acts=[{"act_type": "agent_approach", "victim": known.code}] * 51,
    )
    login(client, worker)
    first = client.get(reverse("incidents:list")).content.decode()
    second = client.get(reverse("incidents:list") + "?page=2").content.decode()
    assert first.count(f'href="/people/{known.code}/"') == 50
    assert second.count(f'href="/people/{known.code}/"') == 1
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert client.get(reverse("incidents:list") + "?page=x").status_code == 200


def test_a_persons_acts_page_and_the_link_to_it(client, staff, login, event, known):
    login(client, staff["caseworker"])
    person_page = client.get(reverse("people:detail", args=[known.code])).content.decode()
    assert reverse("incidents:person", args=[known.code]) in person_page
    body = client.get(reverse("incidents:person", args=[known.code])).content.decode()
    assert body.count(f'href="/incidents/{event.code}"') == 1  # the one act of this person
    assert "강제송환" in body
    other = people.create_person(staff["caseworker"], name="Kim Nobody")
    empty = client.get(reverse("incidents:person", args=[other.code])).content.decode()
    assert "empty-state" in empty


# --- Administration -------------------------------------------------------------------------


def test_only_administrators_see_the_vocabularies_and_places(client, staff, login):
    for role in ("caseworker", "supervisor", "analyst", "auditor"):
        login(client, staff[role])
        assert client.get(reverse("incidents_admin:vocabularies")).status_code == 404
        assert client.get(reverse("incidents_admin:places")).status_code == 404
    login(client, staff["admin"])
    body = client.get(reverse("incidents_admin:vocabularies") + "?v=perpetrator").content
    assert "국가보위성".encode() in body
    assert "图们".encode() in client.get(reverse("incidents_admin:places")).content


def test_an_admin_adds_a_term_and_a_retired_term_is_not_offered(client, staff, login):
    login(client, staff["admin"])
    url = reverse("incidents_admin:vocabularies") + "?v=perpetrator"
    response = client.post(
        url, {"code": "border_guard", "label_ko": "국경경비대", "label_en": "Border guard"}
    )
    assert response.status_code == 302
    term = Term.objects.get(vocabulary="perpetrator", code="border_guard")
    login(client, staff["caseworker"])
    assert 'value="border_guard"' in client.get(reverse("incidents:new")).content.decode()
    login(client, staff["admin"])
    client.post(reverse("incidents_admin:term", args=[term.pk]), {"do": "retire"})
    term.refresh_from_db()
    assert term.retired
    login(client, staff["caseworker"])
    assert 'value="border_guard"' not in client.get(reverse("incidents:new")).content.decode()
    duplicate = client.post(url, {"code": "broker", "label_ko": "x", "label_en": "x"})
    assert duplicate.status_code == 404  # not an administrator
    login(client, staff["admin"])
    again = client.post(url, {"code": "broker", "label_ko": "x", "label_en": "x"})
    assert again.status_code == 400 and "broker" in _field_error(again.content.decode(), "id_code")
    # The grades are the fixed NATO scale: no "G" added there.
    grades = reverse("incidents_admin:vocabularies") + "?v=source_reliability"
    assert client.post(grades, {"code": "G", "label_ko": "G", "label_en": "G"}).status_code == 404
    assert not Term.objects.filter(code="G").exists()


def test_a_term_or_place_in_use_cannot_be_deleted_only_retired(client, staff, login, event):
    login(client, staff["admin"])
    arrest = Term.objects.get(vocabulary="act_type", code="arrest")
    response = client.post(
        reverse("incidents_admin:term", args=[arrest.pk]),
        {"do": "delete", "v": "act_type"},
        follow=True,
    )
    assert "act_type:arrest은(는) 기록에 쓰이고 있습니다" in response.content.decode()
    assert Term.objects.filter(pk=arrest.pk).exists()
    tumen = Place.objects.get(code="cn-tumen")
    client.post(reverse("incidents_admin:place", args=[tumen.pk]), {"do": "delete"})
    assert Place.objects.filter(pk=tumen.pk).exists()
    client.post(reverse("incidents_admin:place", args=[tumen.pk]), {"do": "retire"})
    # Old records still show it.
    login(client, staff["caseworker"])
    detail = client.get(reverse("incidents:detail", args=[event.code])).content.decode()
    assert "투먼" in detail


def test_an_admin_adds_a_place_found_by_each_of_its_names(client, staff, login, known):
    login(client, staff["admin"])
    response = client.post(
        reverse("incidents_admin:places"),
        {
            "code": "cn-xiaoshan",
            "kind": "crossing",
            "country": "cn",
            "label_ko": "샤오산",
            "label_en": "Xiaoshan crossing",
            "label_zh": "小山口岸",
            "aliases": "소산",
            "lat": "42.53",
            "lon": "129.42",
        },
    )
    assert response.status_code == 302
    unused = Place.objects.get(code="cn-xiaoshan")
    assert unused.country == "CN"
    from jikimi.incidents import services

    for name in ("샤오산", "Xiaoshan crossing", "小山口岸", "소산"):
        event = services.record_event(
            staff["caseworker"],
            title="t",
            date="2019",
            place=name,
            acts=[{"act_type": "arrest", "victim": known.code}],
        )
        assert event.place_id == unused.pk
    clash = client.post(
        reverse("incidents_admin:places"),
        {
            "code": "cn-x",
            "kind": "city",
            "country": "CN",
            "label_ko": "새곳",
            "label_en": "Tumen",
            "lat": "1",
            "lon": "1",
        },
    )
    assert clash.status_code == 400 and "cn-tumen" in clash.content.decode()
    assert not Place.objects.filter(code="cn-x").exists()
