"""`jikimi monitor [--once]`: every app's monitor pass — the check-ins, the escalation
ladders, the outbox delivery (DESIGN §8). Each app registers its passes in its `ready()`
(jikimi.core.monitor)."""

from __future__ import annotations

import signal
import sys
import threading

from jikimi.core.commands import OperatorCommand
from jikimi.core.monitor import run_loop, run_passes
from jikimi.notify.services import LEASE_SECONDS

DELIVERY_PASS = "notify.deliver"  # noqa: S105 - a pass name, not a secret


def _finish_started_jobs(options) -> dict[str, int]:
    """Wait for the estimate jobs this run started. A run that started none never loaded the
    jobs module (the estimates pass loads it only for a job: it brings the numerical stack),
    and has nothing to wait for."""
    jobs = sys.modules.get("jikimi.estimates.jobs")
    if jobs is None:
        return {"estimate_jobs_finished": 0, "estimate_jobs_failed": 0}
    return jobs.finish_running(options)


class Command(OperatorCommand):
    help = (
        "Run the check-in monitor and deliver the outbox; several may run at once. "
        "--once does one pass, then waits for the estimate jobs it started."
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
        options = {"lease_seconds": lease}
        skip = frozenset({DELIVERY_PASS}) if no_deliver else frozenset()
        if once:
            totals = run_passes(options, skip=skip)
            # The estimate jobs this pass started run in child processes that end with this
            # one: wait for them (each stops at the job time limit at the latest).
            finished = _finish_started_jobs(options)
            totals.update({k: totals.get(k, 0) + v for k, v in finished.items()})
            self.stdout.write(
                f"processed {totals['processed']}, alerts {totals['alerts']}, "
                f"messages queued {totals['messages']}, sent {totals['sent']}, "
                f"estimate jobs finished {totals['estimate_jobs_finished']}, "
                f"failed {totals['estimate_jobs_failed']}"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        run_loop(stop, interval, options, skip=skip)
