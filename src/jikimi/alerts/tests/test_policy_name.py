"""The policy every organisation starts with is stored as "standard" but shown to staff in
their language; a policy staff named themselves is shown as they named it."""

from __future__ import annotations

import pytest
from django.utils import translation

from jikimi.alerts.services import default_policy

pytestmark = pytest.mark.django_db


def test_the_default_policy_reads_in_the_staff_language(staff, client, login):
    policy = default_policy(staff["supervisor"].organisation)
    assert policy.name == "standard"
    with translation.override("ko"):
        assert policy.display_name == "기본"
    with translation.override("en"):
        assert policy.display_name == "Standard"
    login(client, staff["supervisor"])
    page = client.get("/checkins/policies/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "기본" in page and ">standard<" not in page


def test_a_named_policy_keeps_its_name(staff):
    from jikimi.alerts.models import EscalationPolicy

    policy = EscalationPolicy(organisation=staff["supervisor"].organisation, name="야간 긴급")
    assert policy.display_name == "야간 긴급"
