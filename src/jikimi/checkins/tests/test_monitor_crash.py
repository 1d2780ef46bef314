"""Crash test: `jikimi monitor` SIGKILLed at random points 50 times over 500 alerts.

Every alert must reach the SMTP server at least once, and every repeat must carry the same
Message-ID. Real processes against a file SQLite database in a temporary JIKIMI_HOME, a real
SMTP server (aiosmtpd) in this process.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from jikimi.core.keyring import KeyRing
from jikimi.notify.testing import SmtpSink

pytestmark = pytest.mark.slow

ALERTS = 500
KILLS = 50
JIKIMI = str(Path(sys.executable).with_name("jikimi"))

SETUP = """
from datetime import timedelta
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from jikimi.accounts.services import create_staff, ensure_organisation
from jikimi.checkins.models import Enrolment
from jikimi.alerts.services import default_policy
from jikimi.checkins.testing import make_enrolments
org = ensure_organisation("crash")
user, _ = create_staff("cw", "correct horse battery staple", org, "caseworker",
                       email="cw@crash.example")
now = timezone.now()
rows = make_enrolments(organisation=org, caseworker=user, policy=default_policy(org),
                       total=%(n)d, due=0, now=now, grace_minutes=0)
# Deadlines spread over the run, so alerts are raised while the monitor is being killed.
for i, e in enumerate(rows):
    t = now + timedelta(seconds=3 + i * %(spacing)f)
    Enrolment.objects.filter(pk=e.pk).update(next_due_at=t, next_action_at=t)
"""


def test_it_delivers_every_alert_despite_sigkill(tmp_path):
    rng = random.Random(20261122)
    with SmtpSink() as smtp:
        env = {
            **os.environ,
            "JIKIMI_HOME": str(tmp_path),
            "JIKIMI_KEYS": KeyRing.generate().to_json(),
            "JIKIMI_SMTP_HOST": "127.0.0.1",
            "JIKIMI_SMTP_PORT": str(smtp.port),
            "DJANGO_SETTINGS_MODULE": "jikimi.settings",
            "PYTHONWARNINGS": "ignore",
        }
        env.pop("DATABASE_URL", None)
        env.pop("JIKIMI_TEST_DB_NAME", None)
        subprocess.run(
            [sys.executable, "-c", SETUP % {"n": ALERTS, "spacing": 0.11}],
            env=env,
            check=True,
            timeout=120,
        )
        # --skip-checks: Django's system checks import every view (seconds); with them a
        # monitor would mostly be killed before its first pass, not while it works.
        command = [JIKIMI, "monitor", "--skip-checks", "--interval", "0.2", "--lease", "2"]
        for _ in range(KILLS):
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(rng.uniform(0.4, 2.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # Finally let one run until everything is delivered.
        proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                keys = {m["X-Jikimi-Idempotency-Key"] for m in smtp.messages}
                if len(keys) >= ALERTS:
                    break
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=60)  # a pass under load may take a while to finish
        message_ids: dict[str, set[str]] = defaultdict(set)
        for m in smtp.messages:
            message_ids[m["X-Jikimi-Idempotency-Key"]].add(m["Message-ID"])
    db = sqlite3.connect(tmp_path / "jikimi.sqlite3")
    alerts = db.execute("select count(*) from alerts_alert").fetchone()[0]
    unsent = db.execute(
        "select count(*) from notify_outboxmessage where state != 'sent'"
    ).fetchone()[0]
    assert alerts == ALERTS
    assert len(message_ids) == ALERTS  # every alert's e-mail arrived
    assert all(len(ids) == 1 for ids in message_ids.values())  # repeats: same Message-ID
    assert unsent == 0
    repeats = len(smtp.messages) - len(message_ids)
    print(f"{len(smtp.messages)} e-mails for {ALERTS} alerts ({repeats} repeats after kills)")
