"""Return determinations: revisions and history, the returnees list, access (404 across
organisations, analysts read-only and pseudonymous), the pages and the API."""

from __future__ import annotations

import pytest
from django.utils import translation

from jikimi.audit.models import AuditEvent
from jikimi.core.errors import AccessDenied, InvalidInput, NotFound
from jikimi.incidents import determinations as service
from jikimi.incidents import services
from jikimi.incidents.models import Act, DeterminationLink, Information, ReturnDetermination

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def _victim(name="Ri Song-chol", hangul="리성철"):
    return {
        "name": name,
        "name_hangul": hangul,
        "birth_date": "1990-03-02",
        "sex": "M",
        "province": "함경북도",
    }


def _return_event(user, act_type="abduction", victim=None):
    """An event with a return act and an arrest, each with a graded source."""
    event = services.record_event(
        user,
        title="Taken near Yanji",
        date="2017-08",
        place="Yanji",
        acts=[
            {
                "act_type": act_type,
                "victim": victim or _victim(),
                "information": [
                    {"source": "family_report", "source_reliability": "B"},
                    {"source": "nk_media", "source_reliability": "F"},
                ],
            }
        ],
        information=[{"source": "ngo_list", "source_reliability": "C"}],
    )
    return Act.objects.get(event=event)


@pytest.fixture
def returnee(staff):
    act = _return_event(staff["caseworker"])
    return act


def test_a_returnee_is_the_victim_of_a_return_act_and_others_are_not(staff):
    cw = staff["caseworker"]
    returned = _return_event(cw)
    arrested = _return_event(cw, act_type="arrest", victim=_victim("Kim Ok-sun", "김옥순"))
    assert service.get_returnee(cw, returned.victim.code) == returned.victim
    with pytest.raises(NotFound):
        service.get_returnee(cw, arrested.victim.code)
    rows, total = service.list_returnees(cw)
    assert total == 1 and rows[0].code == returned.victim.code
    assert rows[0].determination == "" and rows[0].revisions == 0


def test_revisions_are_kept_and_the_newest_is_current(staff, returnee):
    sup, cw = staff["supervisor"], staff["caseworker"]
    person = service.get_returnee(sup, returnee.victim.code)
    own = Information.objects.get(act=returnee, source__kind__code="nk_media")
    event_level = Information.objects.get(event=returnee.event, act__isnull=True)
    first = service.record_determination(
        sup,
        person,
        determination="voluntary",
        confidence="low",
        rationale="The broadcast says he chose to return.",
        links=[{"reading": "voluntary", "stance": "supports", "information": own.pk}],
    )
    second = service.record_determination(
        cw,
        person,
        determination="abduction",
        confidence="medium",
        rationale="His family reports he was taken by force.",
        links=[
            {"reading": "abduction", "stance": "supports", "act": str(returnee.pk)},
            {"reading": "voluntary", "stance": "contradicts", "information": event_level.pk},
            {"reading": "abduction", "stance": "contradicts", "information": own.pk},
        ],
    )
    assert (first.revision, second.revision) == (1, 2)
    rows = ReturnDetermination.objects.filter(person=person).order_by("revision")
    assert [(r.revision, r.current, r.determination.code) for r in rows] == [
        (1, False, "voluntary"),
        (2, True, "abduction"),
    ]
    # The first revision's rationale and links are still there.
    assert rows[0].rationale == "The broadcast says he chose to return."
    assert DeterminationLink.objects.filter(determination=rows[0]).count() == 1

    page = service.determination_page(sup, person)
    assert page.current.revision == 2 and page.current.reviewer == cw.get_username()
    assert [h.revision for h in page.history] == [2, 1]
    readings = {r.code: r for r in page.readings}
    assert [link.act for link in readings["abduction"].supports] == [str(returnee.pk)]
    assert [link.information for link in readings["abduction"].contradicts] == [own.pk]
    assert [link.information for link in readings["voluntary"].contradicts] == [event_level.pk]
    assert readings["voluntary"].supports == []  # that was revision 1's
    # Every act's own sources and its whole event's source are offered.
    assert {i.id for i in page.acts[0].information} == {
        *Information.objects.filter(act=returnee).values_list("pk", flat=True),
        event_level.pk,
    }
    rows_list, _ = service.list_returnees(sup, determination="abduction")
    assert [(r.code, r.confidence, r.revisions) for r in rows_list] == [(person.code, "medium", 2)]
    assert service.list_returnees(sup, determination="voluntary") == ([], 0)
    assert service.list_returnees(sup, determination="none") == ([], 0)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"determination.write", "determination.read", "determination.list"} <= actions


def test_the_rationale_is_encrypted_at_rest(staff, returnee):
    from django.db import connection

    sup = staff["supervisor"]
    person = service.get_returnee(sup, returnee.victim.code)
    service.record_determination(
        sup, person, determination="lure", confidence="high", rationale="Promised a flat 7Q"
    )
    with connection.cursor() as cur:
        cur.execute("SELECT rationale FROM incidents_returndetermination")
        (stored,) = cur.fetchone()
    # the phrase holds spaces, which no base64 ciphertext can: a chance match is impossible
    assert stored.startswith("v1:") and "Promised a flat" not in stored
    assert ReturnDetermination.objects.get().rationale == "Promised a flat 7Q"


def test_bad_input_names_the_field_and_writes_nothing(staff, returnee, orgs):
    sup = staff["supervisor"]
    person = service.get_returnee(sup, returnee.victim.code)
    other = _return_event(staff["outsider"], victim=_victim("Pak Chol", "박철"))
    with pytest.raises(InvalidInput) as exc:
        service.record_determination(
            sup,
            person,
            determination="kidnap",
            confidence="certain",
            rationale="",
            links=[
                {"reading": "abduction", "stance": "maybe", "act": str(returnee.pk)},
                {"reading": "abduction", "stance": "supports", "act": str(other.pk)},
                {"reading": "abduction", "stance": "supports"},
            ],
        )
    errors = exc.value.messages()
    assert set(errors) == {
        "determination",
        "confidence",
        "rationale",
        "links[0].stance",
        "links[1].act",
        "links[2].act",
    }
    assert errors["links[1].act"] == "not an act about this person"
    assert not ReturnDetermination.objects.exists()


def test_another_organisations_returnee_is_not_found(staff, returnee):
    outsider = staff["outsider"]
    with pytest.raises(NotFound):
        service.get_returnee(outsider, returnee.victim.code)
    assert service.list_returnees(outsider) == ([], 0)


def test_analysts_read_pseudonymously_and_cannot_revise(staff, returnee):
    sup, analyst = staff["supervisor"], staff["analyst"]
    person = service.get_returnee(sup, returnee.victim.code)
    service.record_determination(
        sup, person, determination="abduction", confidence="high", rationale="Named witness"
    )
    page = service.determination_page(analyst, service.get_returnee(analyst, person.code))
    assert page.name is None and page.current.rationale is None
    assert all(i.source is None for a in page.acts for i in a.information)
    rows, _ = service.list_returnees(analyst)
    assert rows[0].name is None
    with pytest.raises(AccessDenied):
        service.record_determination(
            analyst, person, determination="voluntary", confidence="low", rationale="x"
        )


# --- Pages -----------------------------------------------------------------------------------


def test_the_pages_list_show_and_revise(client, login, staff, returnee):
    cw = staff["caseworker"]
    login(client, cw)
    code = returnee.victim.code
    response = client.get("/incidents/returnees")
    assert response.status_code == 200 and code in response.content.decode()
    info = Information.objects.filter(act=returnee).first()
    response = client.post(
        f"/incidents/returnees/{code}",
        {
            "determination": "forced_repatriation",
            "confidence": "medium",
            "rationale": "Handed over at the Tumen bridge.",
            f"act-{returnee.pk}-reading": "forced_repatriation",
            f"act-{returnee.pk}-stance": "supports",
            f"info-{returnee.pk}-{info.pk}-reading": "voluntary",
            f"info-{returnee.pk}-{info.pk}-stance": "contradicts",
        },
    )
    assert response.status_code == 302
    current = ReturnDetermination.objects.get(current=True)
    assert current.determination.code == "forced_repatriation"
    assert current.links.count() == 2
    page = client.get(f"/incidents/returnees/{code}").content.decode()
    assert "Handed over at the Tumen bridge." in page
    listed = client.get("/incidents/returnees?determination=forced_repatriation").content.decode()
    assert code in listed
    assert code not in client.get("/incidents/returnees?determination=voluntary").content.decode()
    assert client.get("/incidents/returnees?determination=bogus").status_code == 400


def test_the_form_shows_errors_and_saves_nothing(client, login, staff, returnee):
    login(client, staff["supervisor"])
    response = client.post(
        f"/incidents/returnees/{returnee.victim.code}",
        {"determination": "", "confidence": "high", "rationale": ""},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_determination-error"' in body and 'id="id_rationale-error"' in body
    assert not ReturnDetermination.objects.exists()


def test_pages_404_across_organisations_and_403_for_analysts_posting(
    client, login, staff, returnee
):
    login(client, staff["outsider"])
    assert client.get(f"/incidents/returnees/{returnee.victim.code}").status_code == 404
    client.logout()
    login(client, staff["analyst"])
    url = f"/incidents/returnees/{returnee.victim.code}"
    page = client.get(url)
    assert page.status_code == 200 and 'name="rationale"' not in page.content.decode()
    denied = client.post(url, {"determination": "voluntary", "confidence": "low", "rationale": "x"})
    assert denied.status_code == 403
    assert not ReturnDetermination.objects.exists()


# --- API -------------------------------------------------------------------------------------


def test_the_api_lists_reads_and_revises(api_client, api_token, staff, returnee):
    code = returnee.victim.code
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['supervisor'])}")
    created = api_client.post(
        f"/api/incidents/returnees/{code}/",
        {
            "determination": "coercion_through_family",
            "confidence": "low",
            "rationale": "His mother was made to call him.",
            "links": [
                {
                    "reading": "coercion_through_family",
                    "stance": "supports",
                    "act": str(returnee.pk),
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["current"]["determination"] == "coercion_through_family"
    bad = api_client.post(
        f"/api/incidents/returnees/{code}/",
        {"determination": "x", "confidence": "low", "rationale": "r"},
        format="json",
    )
    assert bad.status_code == 400 and "determination" in bad.json()
    listed = api_client.get("/api/incidents/returnees/?determination=coercion_through_family")
    assert listed.json()["count"] == 1
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['outsider'])}")
    assert api_client.get(f"/api/incidents/returnees/{code}/").status_code == 404
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    read = api_client.get(f"/api/incidents/returnees/{code}/")
    assert read.status_code == 200 and read.json()["current"]["rationale"] is None
    refused = api_client.post(
        f"/api/incidents/returnees/{code}/",
        {"determination": "voluntary", "confidence": "low", "rationale": "r"},
        format="json",
    )
    assert refused.status_code == 403


def test_the_form_reads_an_event_source_shown_under_two_acts_as_one_link():
    from jikimi.incidents.views_returns import _links

    a1, a2 = "0b9d2f6e-1111-4c1c-9a55-000000000001", "0b9d2f6e-1111-4c1c-9a55-000000000002"
    data = {
        f"act-{a1}-reading": "abduction",
        f"act-{a1}-stance": "supports",
        f"act-{a2}-reading": "",
        f"act-{a2}-stance": "supports",
        f"info-{a1}-7-reading": "voluntary",
        f"info-{a1}-7-stance": "contradicts",
        f"info-{a2}-7-reading": "voluntary",
        f"info-{a2}-7-stance": "contradicts",
    }
    assert _links(data) == [
        {"reading": "abduction", "stance": "supports", "act": a1},
        {"reading": "voluntary", "stance": "contradicts", "information": "7"},
    ]
