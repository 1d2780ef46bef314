"""`jikimi monitor --once`, and its loop over every app's registered passes."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from jikimi.alerts.models import Alert
from jikimi.core import monitor

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_registers_each_apps_pass_with_delivery_last():
    names = [p.name for p in monitor.passes()]
    assert {"checkins.due", "alerts.escalate", "notify.deliver"} <= set(names)
    # Alerts raised in a loop are delivered in the same loop.
    assert names.index("checkins.due") < names.index("notify.deliver")
    assert names.index("alerts.escalate") < names.index("notify.deliver")


def test_it_does_one_pass_with_once(enrol, smtp):
    enrol(grace_minutes=0)
    out = StringIO()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        call_command("monitor", "--once", stdout=out)
    assert "alerts 1" in out.getvalue()
    assert Alert.objects.count() == 1
    assert smtp.wait_for(1)[0]["To"] == "caseworker@alpha.example"


def test_it_loops_until_stopped(enrol, smtp):
    enrol(grace_minutes=0)
    stop = threading.Event()
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        thread = threading.Thread(target=monitor.run_loop, args=(stop, 0.05))
        thread.start()
        smtp.wait_for(1, timeout=10)
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(smtp.messages) == 1
