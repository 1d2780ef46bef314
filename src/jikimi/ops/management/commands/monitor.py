"""`jikimi monitor [--once]`: the check-in monitor and the outbox worker (DESIGN §8)."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand

from jikimi.checkins.monitor import monitor_loop, run_once
from jikimi.notify.services import LEASE_SECONDS


class Command(BaseCommand):
    help = (
        "Run the check-in monitor and deliver the outbox; several may run at once. "
        "--once does one pass."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between passes (default 1)"
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=LEASE_SECONDS,
            help="seconds a claimed outbox message stays claimed",
        )
        parser.add_argument(
            "--no-deliver",
            action="store_true",
            help="do not deliver the outbox (another process does)",
        )

    def handle(
        self, *args, once=False, interval=1.0, lease=LEASE_SECONDS, no_deliver=False, **opts
    ):
        if once:
            report, sent = run_once(deliver=not no_deliver, lease_seconds=lease)
            self.stdout.write(
                f"processed {report.processed}, alerts {report.alerts}, "
                f"messages queued {report.messages}, sent {sent}"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        monitor_loop(stop, interval, deliver=not no_deliver, lease_seconds=lease)
