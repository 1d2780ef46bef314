"""Two monitors at once on PostgreSQL over 1,000 due enrolments: every alert exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jikimi.alerts.models import Alert
from jikimi.checkins.models import Enrolment
from jikimi.checkins.monitor import run_pass
from jikimi.checkins.services import default_policy
from jikimi.checkins.testing import make_enrolments
from jikimi.notify.models import OutboxMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")


def test_it_writes_each_alert_exactly_once_with_two_monitors(staff):
    cw = staff["caseworker"]
    cw.email = "cw@alpha.example"
    cw.save(update_fields=["email"])
    now = timezone.now()
    make_enrolments(
        organisation=cw.organisation,
        caseworker=cw,
        policy=default_policy(cw.organisation),
        total=1200,
        due=1000,
        now=now,
    )
    reports, errors = [], []
    start = threading.Barrier(2)

    def monitor():
        try:
            start.wait()
            for _ in range(3):  # a few passes each, as a looping monitor would
                reports.append(run_pass(now + timedelta(seconds=1), batch=50))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=monitor) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Alert.objects.filter(kind="missed").count() == 1000
    assert sum(r.alerts for r in reports) == 1000  # nobody raised one twice
    keys = Counter(OutboxMessage.objects.values_list("ref", flat=True))
    assert len(keys) == 1000 and set(keys.values()) == {1}
    assert Enrolment.objects.filter(open_alert__isnull=False).count() == 1000
