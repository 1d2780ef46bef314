"""The incident API: create, read, filter; 404 across organisations; errors by field."""

from __future__ import annotations

import pytest

from jikimi.incidents.models import Act, Event

pytestmark = pytest.mark.django_db

EVENT = {
    "title": "Arrest after crossing the Tumen River",
    "description": "Part of a group",
    "date": "2017-07-15/2017-07-16",
    "place": "图们",
    "acts": [
        {
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
                {
                    "source": "family_report",
                    "source_reliability": "A",
                    "information_credibility": "2",
                }
            ],
        }
    ],
}


@pytest.fixture
def client_of(api_client, api_token):
    def make(user, language="en"):
        api_client.credentials(
            HTTP_AUTHORIZATION=f"Token {api_token(user)}", HTTP_ACCEPT_LANGUAGE=language
        )
        return api_client

    return make


def test_it_creates_reads_and_lists(staff, client_of):
    client = client_of(staff["caseworker"])
    created = client.post("/api/incidents/events/", EVENT, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    code = body["code"]
    assert body["place"]["code"] == "cn-tumen" and body["date"] == "2017-07-15/2017-07-16"
    act = body["acts"][0]
    assert act["act_type"]["code"] == "arrest" and act["victim"].startswith("P-")
    assert act["information"][0]["reliability"] == "A"
    assert client.get(f"/api/incidents/events/{code}/").json()["title"] == EVENT["title"]
    listed = client.get("/api/incidents/events/").json()
    assert listed["count"] == 1 and listed["results"][0]["code"] == code
    acts = client.get("/api/incidents/acts/", {"near": "Yanji", "within_km": "60"}).json()
    assert acts["count"] == 1 and acts["results"][0]["event"] == code
    assert (
        client.get("/api/incidents/acts/", {"near": "Yanji", "within_km": "10"}).json()["count"]
        == 0
    )


def test_another_organisation_gets_404_and_no_acts(staff, client_of):
    code = (
        client_of(staff["caseworker"])
        .post("/api/incidents/events/", EVENT, format="json")
        .json()["code"]
    )
    outsider = client_of(staff["outsider"])
    assert outsider.get(f"/api/incidents/events/{code}/").status_code == 404
    assert outsider.get("/api/incidents/acts/", {"event": code}).json() == {
        "count": 0,
        "count_capped": False,
        "results": [],
    }
    assert outsider.get("/api/incidents/events/").json()["count"] == 0


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"date": "2017-13"}, "date", "month 13 is not between 1 and 12"),
        ({"date": "2017-08/2017-07"}, "date", "the range ends"),
        ({"place": "Tumenn"}, "place", "unknown place 'Tumenn'; the nearest known places:"),
        (
            {
                "acts": [
                    {
                        **EVENT["acts"][0],
                        "information": [{"source": "media", "source_reliability": "G"}],
                    }
                ]
            },
            "acts[0].information[0].source_reliability",
            "G is not a grade A–F",
        ),
        (
            {"acts": [{**EVENT["acts"][0], "act_type": "abducton"}]},
            "acts[0].act_type",
            "unknown term 'abducton'",
        ),
    ],
)
def test_bad_input_is_400_with_the_field_named(staff, client_of, change, field, text):
    answer = client_of(staff["caseworker"]).post(
        "/api/incidents/events/", {**EVENT, **change}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()[field][0].startswith(text), answer.json()
    assert not Event.objects.exists()


def test_a_malformed_body_is_400_not_500(staff, client_of):
    client = client_of(staff["caseworker"])
    for body in (
        {**EVENT, "acts": "x"},
        {**EVENT, "acts": [{"act_type": "arrest", "victim": 5}]},
        {**EVENT, "acts": [{"act_type": "arrest", "victim": "P-2222-2222"}]},
    ):
        answer = client.post("/api/incidents/events/", body, format="json")
        assert answer.status_code == 400, answer.json()
    assert not Act.objects.exists()


def test_an_analyst_may_read_but_not_record(staff, client_of):
    client_of(staff["caseworker"]).post("/api/incidents/events/", EVENT, format="json")
    analyst = client_of(staff["analyst"])
    assert analyst.post("/api/incidents/events/", EVENT, format="json").status_code == 403
    acts = analyst.get("/api/incidents/acts/").json()["results"]
    assert acts[0]["victim_name"] is None and acts[0]["information"][0]["source"] is None


def test_a_refusal_reads_in_the_asker_s_language(staff, client_of):
    # A service's refusal (the role, the password asked again) is a sentence in the
    # language asked for, never the English text of the code.
    en = client_of(staff["analyst"]).post("/api/incidents/events/", EVENT, format="json")
    assert en.json()["detail"] == (
        "Only case workers, supervisors and administrators record incidents."
    )
    ko = client_of(staff["analyst"], "ko").post("/api/incidents/events/", EVENT, format="json")
    assert ko.json()["detail"] == "사건 기록은 담당 실무자, 감독자, 관리자만 작성합니다."
    body = {"format": "csv", "password": "not the password"}
    cw = client_of(staff["caseworker"], "ko")
    refused = cw.post("/api/incidents/acts/export/", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "비밀번호: 사건 기록을 내보내려면 비밀번호를 다시 입력하세요."
    )


def test_terms_and_places(staff, client_of):
    client = client_of(staff["analyst"])
    terms = client.get("/api/incidents/terms/", {"vocabulary": "act_type"}).json()
    assert "forced_repatriation" in {t["code"] for t in terms}
    assert client.get("/api/incidents/terms/", {"vocabulary": "nope"}).status_code == 400
    for name in ("투먼", "Tumen", "图们", "tu"):
        places = client.get("/api/incidents/places/", {"q": name}).json()
        assert "cn-tumen" in {p["code"] for p in places}, name
    hyesan = next(
        p
        for p in client.get("/api/incidents/places/", {"q": "Hyesan"}).json()
        if p["code"] == "kp-hyesan"
    )
    assert hyesan["parent"] == "kp-ryanggang" and "혜산" in hyesan["names"]
