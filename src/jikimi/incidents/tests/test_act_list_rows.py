"""The act list's rows, built for speed (issue #14), say what the model instances say.

The rows are read as tuples (no model instance per act, term, place, link or source), the
page's table is built by a template tag instead of nested template loops, and the API's
results directly instead of through DRF's nested serialisers. Here every one of them is
compared with the slow, obvious way: rows from the model instances (what the list did
before), `ActSerializer`, and the markup the table must carry.
"""

from __future__ import annotations

import json

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from jikimi.incidents import api, services
from jikimi.incidents.models import Act, Information, Involvement
from jikimi.people import services as people

pytestmark = pytest.mark.django_db


@pytest.fixture
def varied(staff):
    """Acts with what a row can hold: two perpetrators (one without a degree, one with a
    person), a named source beside a kind, information without a grade, victim details,
    typed coordinates instead of a place, a whole-event link (not an act's own)."""
    cw = staff["caseworker"]
    perpetrator = people.create_person(cw, name="Pak Chol-ho").code
    services.record_event(
        cw,
        title="Two perpetrators <b>&</b>",
        date="2019-03",
        place="Tumen",
        acts=[
            {
                "act_type": "arrest",
                "victim": {"name": "Ri Mi-ok", "name_hangul": "리미옥"},
                "victim_details": "Detained with her son",
                "involvements": [
                    {"perpetrator": "chinese_public_security_bureau", "involvement": "ordered"},
                    {"perpetrator": "state_security_department", "perpetrator_person": perpetrator},
                ],
                "information": [
                    {"source": "Daily NK", "source_reliability": "B"},
                    {"source": "family_report", "information_credibility": "2"},
                    {"source": "media"},
                ],
            },
            {"act_type": "disappearance", "victim": {"name": "Kim Song"}, "place": "42.95,129.95"},
        ],
        involvements=[{"perpetrator": "broker"}],
        information=[{"source": "ngo_list", "source_reliability": "F"}],
    )
    services.record_event(
        cw,
        title="Plain",
        date="2020",
        acts=[{"act_type": "abduction", "victim": {"name": "Han Ok"}}],
    )
    return staff


def _reference(user, acts) -> list[services.ActRow]:
    """Rows from the model instances, link by link."""
    show = user.sees_identities
    names = people.display_names(user, [a.victim for a in acts])
    found = []
    for a in acts:
        invs = Involvement.objects.filter(act=a).order_by("pk")
        infos = Information.objects.filter(act=a).order_by("pk")
        found.append(
            services.ActRow(
                id=str(a.pk),
                event=a.event.code,
                act_type=services._term(a.act_type),  # type: ignore[arg-type]
                date=a.date_text,
                date_start=a.date_start,
                date_end=a.date_end,
                date_precision=a.date_precision,
                date_approx=a.date_approx,
                place=services._place(a.place),
                lat=a.lat,
                lon=a.lon,
                victim=a.victim.code,
                victim_name=names.get(a.victim_id),
                victim_details=a.victim_details if show else None,
                involvements=services._involvement_rows(invs, services._Sight(user)),
                information=services._information_rows(user, infos),
            )
        )
    return found


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("role", ["caseworker", "analyst"])
def test_the_rows_say_what_the_models_say(varied, role, language):
    user = varied[role]
    with translation.override(language):
        rows, total = services.list_acts(user, {})
        acts = list(Act.objects.filter(organisation_id=user.organisation_id))
        acts.sort(key=lambda a: (-a.date_start.toordinal(), str(a.pk)))
        assert total == 3 and rows == _reference(user, acts)
        event = services.get_event(user, rows[0].event)
        assert services.event_detail(user, event).acts == [r for r in rows if r.event == event.code]
    if role == "caseworker":  # what only identities show is there to compare
        arrest = next(r for r in rows if r.act_type.code == "arrest")
        assert arrest.victim_name and arrest.victim_details == "Detained with her son"
        assert {i.source for i in arrest.information} == {"Daily NK", None}
        assert {i.perpetrator_person for i in arrest.involvements} != {None}
    else:
        assert all(r.victim_name is None and r.victim_details is None for r in rows)


@pytest.mark.parametrize("role", ["caseworker", "analyst"])
def test_the_api_results_are_the_serializers(varied, role):
    user = varied[role]
    rows, _ = services.list_acts(user, {})
    fast = json.dumps([api.act_data(r) for r in rows], sort_keys=True)
    assert fast == json.dumps(api.ActSerializer(rows, many=True).data, sort_keys=True)


def test_the_table_escapes_and_links(varied):
    cw = varied["caseworker"]
    with translation.override("en"):
        rows, _ = services.list_acts(cw, {})
        titles = services.event_titles(cw, [r.event for r in rows])
        html = render_to_string(
            "incidents/_acts.html",
            {"rows": rows, "titles": titles, "show_event": True, "open_cases": True},
        )
    arrest = next(r for r in rows if r.act_type.code == "arrest")
    assert "Two perpetrators &lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    assert f'<a class="code" href="/people/{arrest.victim}/">{arrest.victim}</a>' in html
    assert f'<a href="/incidents/{arrest.event}">' in html
    assert 'Chinese Public Security Bureau <small class="muted">(' in html
    assert '<span class="badge ok" title=' not in html  # no A/B with 1/2 here
    assert '<span class="badge info" title="B: usually reliable">B–</span>' in html
    assert '<span class="badge">ungraded</span>' in html
    assert '<span class="nowrap">42.95, 129.95</span>' in html
    assert html.count("<tr>") == 4 and html.count("Open a case") == 3
    assert f"?person={arrest.victim}&amp;event={arrest.event}&amp;act_type=arrest" in html
