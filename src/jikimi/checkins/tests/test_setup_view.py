"""The one-time PIN set-up link."""

from __future__ import annotations

import pytest
from django.test import Client

from jikimi.accounts.services import AccessDenied
from jikimi.checkins import pins, services
from jikimi.checkins.models import Enrolment

pytestmark = pytest.mark.django_db


def test_it_sets_pins_once_and_shows_the_checkin_link(staff, person):
    result = services.enrol(staff["caseworker"], person, interval_hours=12)
    client = Client()
    assert client.get(result.setup_path).status_code == 200
    assert Enrolment.objects.get().status == "setup"
    bad = client.post(result.setup_path, {"pin": "1234", "duress_pin": "5678"})
    assert bad.status_code == 400
    ok = client.post(result.setup_path, {"pin": "2580", "duress_pin": "1397"})
    assert ok.status_code == 200 and b"/c/" in ok.content
    enrolment = Enrolment.objects.get()
    assert enrolment.status == "active" and enrolment.next_action_at is not None
    assert "2580" not in enrolment.pin_hash
    # The link works once.
    assert client.get(result.setup_path).status_code == 404


def test_it_requires_consent(staff, orgs):
    from jikimi.people import services as people

    p = people.create_person(staff["caseworker"], name="박영수")
    with pytest.raises(services.InvalidInput) as exc:
        services.enrol(staff["caseworker"], p, interval_hours=12)
    assert "consent" in exc.value.errors


def test_it_hides_other_organisations_people(staff, person):
    with pytest.raises(services.NotFound):
        services.enrol(staff["outsider"], person, interval_hours=12)
    with pytest.raises(AccessDenied):
        services.enrol(staff["analyst"], person, interval_hours=12)


@pytest.mark.parametrize(
    "pin,duress,field",
    [
        ("2580", "2580", "duress_pin"),
        ("2580", "13975", "duress_pin"),
        ("1111", "2580", "pin"),
        ("1234", "2580", "pin"),
        ("2580", "9876", "duress_pin"),
        ("12", "34", "pin"),
        ("2580", "abcd", "duress_pin"),
        ("121212", "258013", "pin"),
    ],
)
def test_it_refuses_weak_or_confusable_pins(pin, duress, field):
    assert field in pins.pin_errors(pin, duress)


def test_it_classifies_pins():
    h = pins.hash_pin("e1", "2580")
    d = pins.hash_pin("e1", "1397")
    assert pins.classify("e1", h, d, "2580") == "ok"
    assert pins.classify("e1", h, d, "1397") == "duress"
    assert pins.classify("e1", h, d, "0000") == "wrong"
    assert pins.classify("e2", h, d, "2580") == "wrong"  # bound to the enrolment
