"""What reaches the person's own phone or inbox names no app and no protection service: a
message from "Jikimi" (or "지킴이") on an inspected phone could endanger the person."""

from __future__ import annotations

import pytest

from jikimi.checkins import notifications

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["ko", "en"])
def test_a_reminder_names_no_app(enrol, language):
    enrolment, _ = enrol(channels=["sms", "email"], phone="+821012345678", email="p@example.org")
    enrolment.language = language
    notes = notifications.for_person(enrolment, key="reminder:x", ref="reminder:x")
    assert {n.kind for n in notes} == {"sms", "email"}
    for n in notes:
        text = f"{n.subject} {n.body}".lower()
        assert "jikimi" not in text and "지킴이" not in text, text
        assert "defector" not in text and "탈북" not in text, text
