"""The one-time PIN set-up link."""

from __future__ import annotations

import re

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


def _text(response) -> str:
    """The page as a person reads it: its text, without tags."""
    from html import unescape

    body = response.content.decode()
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", body)
    return unescape(re.sub(r"(?s)<[^>]+>", " ", body))


def _error_under(response, field_id: str) -> str:
    """The message in the .field that holds `field_id`'s input."""
    html = response.content.decode()
    match = re.search(
        rf'(?s)<div class="field has-error">\s*<label for="{field_id}">.*?'
        r'<p class="field-error" id="[\w-]+">(.*?)</p>',
        html,
    )
    assert match, f"no error under {field_id}"
    return match.group(1)


@pytest.mark.parametrize(
    "lang,pin,duress,field,expected",
    [
        ("ko", "1234", "2580", "pin", "PIN: 너무 쉬운 번호입니다"),
        ("en", "1234", "2580", "pin", "PIN: too easy to guess"),
        ("ko", "12", "2580", "pin", "PIN: 숫자 4~8자리로 정하세요."),
        ("en", "12", "2580", "pin", "PIN: use 4 to 8 digits."),
        ("ko", "2580", "13975", "duress_pin", "비상 PIN: PIN 과 자릿수가 같아야 합니다."),
        (
            "en",
            "2580",
            "13975",
            "duress_pin",
            "Emergency PIN: must have as many digits as the PIN.",
        ),
        ("ko", "2580", "2580", "duress_pin", "비상 PIN: PIN 과 달라야 합니다."),
        ("en", "2580", "2580", "duress_pin", "Emergency PIN: must be different from the PIN."),
        ("en", "2580", "", "duress_pin", "Emergency PIN: use 4 to 8 digits."),
    ],
)
def test_set_up_errors_are_translated_under_the_field_with_its_label(
    staff, person, lang, pin, duress, field, expected
):
    """Issue: "pin: too easy to guess", "duress_pin: …" in English on the Korean page."""
    result = services.enrol(staff["caseworker"], person, interval_hours=12)
    response = Client(headers={"accept-language": lang}).post(
        result.setup_path, {"pin": pin, "duress_pin": duress}
    )
    assert response.status_code == 400
    assert response.headers["Content-Language"] == lang
    assert _error_under(response, field).startswith(expected)
    html = response.content.decode()
    text = _text(response)
    for raw in ("duress_pin", "pin:", "digits" if lang == "ko" else "자리"):
        assert raw not in text, raw
    # The other field has no message of its own.
    other = "duress_pin" if field == "pin" else "pin"
    other_input = re.search(rf'<input id="{other}"[^>]*>', response.content.decode()).group(0)
    assert "aria-invalid" not in other_input
    assert 'aria-invalid="true"' in re.search(rf'<input id="{field}"[^>]*>', html).group(0)
    # Nothing was saved: the link still works.
    assert Enrolment.objects.get().status == "setup"


def test_pin_error_keys_stay_the_field_names_for_the_api():
    from django.utils import translation

    with translation.override("en"):
        errors = pins.pin_errors("1111", "22")
        assert set(errors) == {"pin", "duress_pin"}
        assert str(errors["pin"]) == (
            "PIN: too easy to guess (repeated digits, runs such as 1234, common numbers)."
        )
    with translation.override("ko"):  # lazy: the language when shown, not when made
        assert str(errors["duress_pin"]) == "비상 PIN: 숫자 4~8자리로 정하세요."


@pytest.mark.django_db
def test_the_pad_offers_a_plain_language_switch_that_keeps_the_token_path(enrol):
    """No account, no JavaScript: a form posting to set_language with the page as `next`."""
    _enrolment, token = enrol()
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/c/{token}", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert f'name="next" value="/c/{token}"' in page
    assert 'value="en" lang="en"' in page and ">English</button>" in page
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    answer = client.post(
        "/i18n/setlang/", {"language": "en", "next": f"/c/{token}", "csrfmiddlewaretoken": csrf}
    )
    assert answer.status_code == 302 and answer["Location"] == f"/c/{token}"
    english = client.get(f"/c/{token}", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert '<html lang="en">' in english and "<h1>Check in</h1>" in english


def test_the_pad_never_carries_another_person_s_link(enrol, staff):
    """The pad is rendered once per process and filled in per request (views/checkin.py):
    the language switch's address must be this request's own token, never the token of the
    person whose request first rendered it."""
    from jikimi.people import services as people

    cw = staff["caseworker"]
    other = people.create_person(cw, name="박영희")
    people.record_consent(cw, other, purpose="checkins", granted=True, method="written")
    _a, first = enrol()
    _b, second = enrol(other)
    Client().get(f"/c/{first}", HTTP_ACCEPT_LANGUAGE="ko")
    page = Client().get(f"/c/{second}", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert f'name="next" value="/c/{second}"' in page
    assert first not in page
