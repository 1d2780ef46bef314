"""Victims are person records: linkage sees them after the commit, and a missing person who
appears in an act (imported or typed) raises the reappearance alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from jikimi.alerts.models import Alert
from jikimi.incidents import services
from jikimi.incidents.importer import import_incidents
from jikimi.incidents.models import Act
from jikimi.linkage.models import PersonLink
from jikimi.linkage.tests.test_review import linked, make_person, pair_of

__all__ = ["linked"]  # the fixture

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "incidents-sample.csv"


@pytest.fixture
def kim(staff, linked):
    """Kim Yong-ho of the sample (V003), known to the organisation under another spelling
    and reported missing."""
    return make_person(
        linked,
        staff["caseworker"],
        "Kim Yongho",
        birth_date="1979-09-03",
        birth_year=1979,
        sex="M",
        province="KP-09",
        status="missing",
    )


def test_an_imported_victim_links_to_the_missing_person_and_raises_the_alert(kim, orgs, linked):
    result = linked(import_incidents, SAMPLE, orgs[0])
    assert result.created == 15 and not result.problems
    victim = Act.objects.get(victim_record_id="V003").victim
    assert victim != kim
    assert PersonLink.objects.filter(**pair_of(kim, victim)).exists()
    alert = Alert.objects.get(kind="reappearance")
    assert alert.key == f"reappearance:{kim.code}:{victim.code}"
    assert alert.organisation_id == orgs[0].pk


def test_no_alert_when_the_person_is_not_missing(staff, orgs, linked):
    make_person(
        linked,
        staff["caseworker"],
        "Kim Yongho",
        birth_date="1979-09-03",
        birth_year=1979,
        sex="M",
        province="KP-09",
    )
    linked(import_incidents, SAMPLE, orgs[0])
    assert PersonLink.objects.exists()
    assert not Alert.objects.filter(kind="reappearance").exists()


def test_a_victim_typed_in_a_form_links_too(kim, staff, linked):
    event = linked(
        services.record_event,
        staff["caseworker"],
        title="Appearance in a broadcast",
        date="2019-03",
        place="Pyongyang",
        acts=[
            {
                "act_type": "nk_media_appearance",
                "victim": {
                    "name": "김영호",
                    "birth_date": "1979-09-03",
                    "sex": "M",
                    "province": "North Hamgyong",
                },
            }
        ],
    )
    victim = Act.objects.get(event=event).victim
    assert PersonLink.objects.filter(**pair_of(kim, victim)).exists()
    assert Alert.objects.get(kind="reappearance").key == f"reappearance:{kim.code}:{victim.code}"
