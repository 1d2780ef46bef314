"""A new record that links to a missing or detained person raises a reappearance alert."""

from __future__ import annotations

import json

import pytest

from jikimi.alerts import services as alerts
from jikimi.linkage import linking, services
from jikimi.linkage.models import PersonLink, ReviewItem
from jikimi.linkage.tests.test_review import (
    assert_no_names_in_audit,
    linked,
    make_person,
    open_checkin_alert,
    pair_of,
)

__all__ = ["linked"]  # the fixture, imported for these tests

FULL = {"birth_date": "1990-03-05", "birth_year": 1990, "sex": "F", "province": "KP-09"}


def _alerts():
    from jikimi.alerts.models import Alert

    return Alert.objects.filter(kind=services.REAPPEARANCE_ALERT_KIND)


@pytest.fixture
def missing(staff, linked):
    cw = staff["caseworker"]
    return make_person(linked, cw, "이지현", status="missing", **FULL)


def test_it_raises_one_alert_when_a_matching_record_arrives(missing, staff, linked, orgs):
    cw = staff["caseworker"]
    ri = make_person(linked, cw, "Ri Ji Hyon", **FULL)
    assert PersonLink.objects.filter(**pair_of(missing, ri)).exists()
    alert = _alerts().get()
    assert alert.key == f"reappearance:{missing.code}:{ri.code}"
    assert alert.organisation_id == orgs[0].pk
    text = json.dumps(alert.detail, ensure_ascii=False)
    assert missing.code in text and "이지현" not in text and "Hyon" not in text
    # Linkage runs again (a new identity), the link is undone and redone: still one alert.
    linked(services.link_person, ri.pk)
    link = PersonLink.objects.get(**pair_of(missing, ri))
    services.unlink(cw, link, reason="check")
    services._create_link(link.person_a, link.person_b, method="review", score=None, levels={})
    assert _alerts().count() == 1
    assert_no_names_in_audit()


def test_it_raises_the_alert_when_a_reviewer_confirms(missing, staff, linked):
    cw = staff["caseworker"]
    ri = make_person(linked, cw, "Ri Ji Hyon", birth_year=1990, sex="F")
    item = ReviewItem.objects.get(**pair_of(missing, ri))
    assert not _alerts().exists()
    services.confirm(cw, item)
    assert _alerts().get().key == f"reappearance:{missing.code}:{ri.code}"


def test_it_raises_no_alert_for_an_active_person(staff, linked):
    cw = staff["caseworker"]
    make_person(linked, cw, "이지현", **FULL)
    make_person(linked, cw, "Ri Ji Hyon", **FULL)
    assert PersonLink.objects.count() == 1
    assert not _alerts().exists()


def test_it_raises_the_alert_for_a_person_with_an_open_checkin_alert(staff, linked, orgs):
    cw = staff["caseworker"]
    lee = make_person(linked, cw, "이지현", **FULL)
    open_checkin_alert(lee, orgs[0], cw, key="missed:test")
    ri = make_person(linked, cw, "Ri Ji Hyon", **FULL)
    assert _alerts().get().key == f"reappearance:{lee.code}:{ri.code}"


def test_it_asks_the_alert_board_once_per_pair_with_a_stable_key(
    missing, staff, linked, monkeypatch
):
    """The call into the alerts app."""
    calls = []
    monkeypatch.setattr(alerts, "raise_alert", lambda **kw: calls.append(kw))
    cw = staff["caseworker"]
    ri = make_person(linked, cw, "Ri Ji Hyon", **FULL)
    linked(services.link_person, ri.pk)
    assert len(calls) == 1
    call = calls[0]
    assert call["kind"] == "reappearance"
    assert call["organisation_id"] == missing.organisation_id
    assert call["key"] == f"reappearance:{missing.code}:{ri.code}"
    assert call["detail"]["person"] == missing.code and call["detail"]["linked_person"] == ri.code
    assert "이지현" not in json.dumps(call["detail"], ensure_ascii=False)


def test_it_alerts_staff_when_linking_a_record_fails(staff, linked, orgs, monkeypatch):
    """Nothing silent: a linkage error (which could hide a reappearance) is an alert."""
    from jikimi.alerts.models import Alert

    def broken(person_id, **kwargs):
        raise RuntimeError("scoring failed")

    monkeypatch.setattr(linking, "link_person", broken)
    person = make_person(linked, staff["caseworker"], "이지현", **FULL)
    alert = Alert.objects.get(kind="linkage_failure")
    assert alert.key == f"linkage_failure:{person.code}"
    assert alert.organisation_id == orgs[0].pk
    assert alert.detail == {"person": person.code, "error": "RuntimeError"}
