"""The act list at a million acts (issue #14): the links summarised on the act row, the count
capped honestly.

The perpetrator, source-kind and reliability filters read fields copied onto each act from
its involvements and information (and its event's whole-event ones, `incidents/summary.py`).
Here a small seeded set that has every awkward case — two perpetrators, a perpetrator of the
whole event, sources of two kinds, a named source without a kind, information without a
grade, a kind and a grade that only match in *different* pieces of information — is filtered
both ways: through the list, and by reading the link tables (what the list did before). The
fields must follow every write (the form's and API's `record_event`, the bulk import, the
migration's backfill), and the count stops at the cap saying so.
"""

from __future__ import annotations

import importlib
import itertools

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jikimi.incidents import importer, services, summary
from jikimi.incidents.models import Act, Information, Involvement, Term

pytestmark = pytest.mark.django_db

SSD, CPSB, BROKER = "state_security_department", "chinese_public_security_bureau", "broker"


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


def _act(act_type="arrest", perps=(), info=(), victim="Kim Ok-sun"):
    return {
        "act_type": act_type,
        "victim": {"name": victim},
        "involvements": [{"perpetrator": p} for p in perps],
        "information": [
            {"source": s, "source_reliability": g, "information_credibility": ""} for s, g in info
        ],
    }


@pytest.fixture
def seeded(staff):
    """Six events, nine acts, in the caseworker's organisation (and one in another)."""
    cw = staff["caseworker"]
    record = services.record_event
    record(cw, title="One of each", date="2016-03", place="Tumen",
           acts=[_act(perps=[CPSB], info=[("family_report", "B")])])  # fmt: skip
    record(cw, title="Two perpetrators", date="2017", place="Hyesan",
           acts=[_act("forced_repatriation", perps=[CPSB, SSD],
                      info=[("case_file", "C"), ("case_file", "A")])])  # fmt: skip
    # The kind and the grade in different pieces: nk_media D and family_report A.
    record(cw, title="Kind and grade apart", date="2018-06-01", place="Yanji",
           acts=[_act("abduction", perps=[BROKER],
                      info=[("nk_media", "D"), ("family_report", "A")]),
                 _act("lure_offer", info=[("Daily NK", "E")])])  # fmt: skip
    # A perpetrator and a source of the whole event, an act of its own beside them.
    record(cw, title="Whole event", date="2019-01-11", place="Bangkok",
           acts=[_act("agent_approach", perps=[BROKER]), _act("disappearance")],
           involvements=[{"perpetrator": SSD}],
           information=[{"source": "ngo_list", "source_reliability": "F"}])  # fmt: skip
    # Information without a grade, a named source beside a kind.
    record(cw, title="Ungraded", date="2020", place="Tumen",
           acts=[_act("arrest", perps=[SSD], info=[("media", ""), ("A reporter", "B")]),
                 _act("arrest", perps=[CPSB, CPSB], info=[("media", "C")])])  # fmt: skip
    record(cw, title="Nothing linked", date="2021-02", place="Yanji", acts=[_act("abduction")])
    record(staff["outsider"], title="Elsewhere", date="2019", place="Tumen",
           acts=[_act(perps=[SSD], info=[("family_report", "A")])])  # fmt: skip
    return cw


def _reference(user, filters: dict) -> set[str]:
    """The acts of `filters` read from the link tables, as the list did before the summary:
    an involvement (the act's or its event's) with the perpetrator; one piece of information
    (the act's or its event's) of the kind and the grade or better."""
    acts = Act.objects.filter(organisation_id=user.organisation_id)
    found = set()
    for act in acts:
        mine = Q(act=act) | Q(event_id=act.event_id, act__isnull=True)
        invs, infos = Involvement.objects.filter(mine), Information.objects.filter(mine)
        if "act_type" in filters and act.act_type.code != filters["act_type"]:
            continue
        if (
            "perpetrator" in filters
            and not invs.filter(perpetrator__code=filters["perpetrator"]).exists()
        ):
            continue
        if "source_kind" in filters or "reliability" in filters:
            if "source_kind" in filters:
                infos = infos.filter(source__kind__code=filters["source_kind"])
            if "reliability" in filters:
                grades = "ABCDEF"[: "ABCDEF".index(filters["reliability"]) + 1]
                infos = infos.filter(reliability__in=list(grades))
            if not infos.exists():
                continue
        found.add(str(act.pk))
    return found


FILTERS = [{"perpetrator": p} for p in (SSD, CPSB, BROKER, "unknown")] + [
    {"source_kind": k} for k in ("family_report", "case_file", "nk_media", "ngo_list", "media")
]
FILTERS += [{"reliability": g} for g in "ABCDEF"]
FILTERS += [
    {"source_kind": k, "reliability": g}
    for k, g in itertools.product(("family_report", "nk_media", "media", "case_file"), "ABD")
]
FILTERS += [
    {"perpetrator": SSD, "reliability": "C"},
    {"perpetrator": CPSB, "source_kind": "media"},
    {"perpetrator": BROKER, "source_kind": "family_report", "reliability": "A"},
    {"perpetrator": SSD, "source_kind": "ngo_list", "act_type": "disappearance"},
]


@pytest.mark.parametrize(
    "filters", FILTERS, ids=lambda f: "+".join(f"{k}={v}" for k, v in f.items())
)
def test_the_filters_find_what_the_link_tables_say(seeded, filters):
    rows, total = services.list_acts(seeded, filters)
    assert {r.id for r in rows} == _reference(seeded, filters)
    assert total == len(rows)


def test_the_awkward_cases_are_there(seeded):
    """The seeded set holds what the exact filters must get right (else the test above
    proves little): acts of several perpetrators or kinds, and a kind and a grade apart."""
    assert Act.objects.filter(links_many=True).count() >= 4
    rows, _ = services.list_acts(seeded, {"source_kind": "nk_media", "reliability": "A"})
    assert rows == []  # nk_media is D; the A is a family report
    rows, _ = services.list_acts(seeded, {"perpetrator": SSD})
    assert {r.act_type.code for r in rows} == {
        "forced_repatriation",
        "agent_approach",
        "disappearance",
        "arrest",
    }


def test_the_list_query_joins_no_link_table(seeded):
    with CaptureQueriesContext(connection) as queries:
        rows, _ = services.list_acts(
            seeded, {"perpetrator": CPSB, "source_kind": "media", "reliability": "C"}
        )
    assert len(rows) == 1
    listing = [q["sql"] for q in queries if "incidents_act" in q["sql"] and "ORDER BY" in q["sql"]]
    counting = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "incidents_act" in q["sql"]]
    assert listing and counting
    for sql in listing + counting:
        assert "incidents_involvement" not in sql and "incidents_information" not in sql


def _stored() -> dict:
    return {a.pk: {f: getattr(a, f) for f in summary.FIELDS} for a in Act.objects.all()}


def _recomputed() -> dict:
    found = summary.summaries(
        Act.objects.values_list("pk", "event_id"),
        Involvement.objects.values_list("event_id", "act_id", "perpetrator_id"),
        Information.objects.values_list("event_id", "act_id", "source__kind_id", "reliability"),
    )
    return found


def test_recording_writes_the_summary(seeded):
    assert _stored() == _recomputed()
    assert services.refresh_summaries(Act.objects.values_list("event_id", flat=True)) == 0
    ssd, cpsb = (Term.objects.get(vocabulary="perpetrator", code=c).pk for c in (SSD, CPSB))
    act = Act.objects.get(act_type__code="forced_repatriation")
    assert (act.perpetrator_id, act.perpetrators) == (None, f",{min(ssd, cpsb)},{max(ssd, cpsb)},")
    assert act.reliability == "A" and act.source_kind.code == "case_file" and act.links_many
    whole = Act.objects.get(act_type__code="disappearance")  # only the event's links
    assert whole.perpetrator_id == ssd and whole.reliability == "F"
    assert whole.source_kind.code == "ngo_list" and not whole.links_many
    nothing = Act.objects.get(event__date_text="2021-02")
    assert (nothing.perpetrator_id, nothing.perpetrators, nothing.reliability) == (None, "", "")
    assert (nothing.sources, nothing.links_many) == ("", False)


def test_the_import_writes_the_summary(staff, tmp_path):
    from jikimi.accounts.models import Organisation

    path = tmp_path / "incidents.csv"
    header = list(importer.COLUMNS)
    rows = [
        dict.fromkeys(header, "")
        | {
            "event_id": "E1",
            "act_type": "arrest",
            "date": "2019-03",
            "place": "Tumen",
            "victim_record_id": "V1",
            "victim_name": "Ri Chol",
            "perpetrator": SSD,
            "source": "nk_media",
            "source_reliability": "D",
            "title": "t",
        },  # fmt: skip
        dict.fromkeys(header, "")
        | {
            "event_id": "E1",
            "act_type": "abduction",
            "date": "2019-03",
            "place": "Tumen",
            "victim_record_id": "V2",
            "victim_name": "Pak Mi",
            "perpetrator": BROKER,
            "source": "family_report",
            "source_reliability": "B",
            "title": "t",
        },  # fmt: skip
    ]
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    org = Organisation.objects.get(pk=staff["caseworker"].organisation_id)
    result = importer.import_incidents(path, org)
    assert not result.problems
    assert Act.objects.count() == 2 and _stored() == _recomputed()
    assert Act.objects.get(act_type__code="abduction").reliability == "B"
    rows, _ = services.list_acts(staff["caseworker"], {"perpetrator": SSD, "reliability": "D"})
    assert [r.act_type.code for r in rows] == ["arrest"]


def test_the_migration_backfills_the_summary(seeded):
    from django.apps import apps

    Act.objects.update(
        perpetrator=None, perpetrators="", source_kind=None, reliability="", sources="",
        links_many=False,
    )  # fmt: skip
    assert _stored() != _recomputed()
    migration = importlib.import_module("jikimi.incidents.migrations.0007_act_link_summary")
    migration.backfill(apps, None)
    assert _stored() == _recomputed()


def test_the_count_stops_past_the_cap_and_says_so(seeded, client, login, monkeypatch):
    cw = seeded
    monkeypatch.setattr(services, "COUNT_CAP", 9)
    rows, total = services.list_acts(cw, {})
    assert total == 9 and len(rows) == 9  # exactly the cap: a number
    monkeypatch.setattr(services, "COUNT_CAP", 8)
    rows, total = services.list_acts(cw, {})
    assert total == 9 > services.COUNT_CAP and len(rows) == 9  # past it: "more than 8"
    rows, total = services.list_acts(cw, {}, offset=8, limit=5)
    assert len(rows) == 1  # pages past the cap still come
    login(client, cw)
    from django.test import Client

    api = Client(HTTP_ACCEPT_LANGUAGE="en")
    login(api, cw)
    body = api.get("/api/incidents/acts/").json()
    assert (body["count"], body["count_capped"]) == (8, True)
    page = client.get(reverse("incidents:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "More than 8 acts" in page and 'data-more-than="true"' in page
    monkeypatch.setattr(services, "COUNT_CAP", 100)
    body = api.get("/api/incidents/acts/").json()
    assert (body["count"], body["count_capped"]) == (9, False)
