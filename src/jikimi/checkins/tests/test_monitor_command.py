"""`jikimi monitor --once`, and the loop it runs (`jikimi serve` starts it as a process)."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from jikimi.checkins.models import Alert
from jikimi.checkins.monitor import monitor_loop

pytestmark = pytest.mark.django_db(transaction=True)


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
        thread = threading.Thread(target=monitor_loop, args=(stop, 0.05))
        thread.start()
        smtp.wait_for(1, timeout=10)
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(smtp.messages) == 1
