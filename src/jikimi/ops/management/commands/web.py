import os

from django.core.management.base import BaseCommand, CommandError

from jikimi.core.keyring import KeyRingError
from jikimi.core.services import check_keys_usable
from jikimi.ops.serve import run_gunicorn


class Command(BaseCommand):
    help = (
        "Serve the pages and API with gunicorn, without the monitor (production: run "
        "`jikimi monitor` separately, behind a reverse proxy)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        # Measured on 2 cores (docs/checkins.md): single-threaded (sync) workers, two per
        # core, beat fewer threaded ones on throughput and p95 — threads in one process
        # queue on the GIL while one of them holds the database's write lock. Sync workers
        # need a buffering reverse proxy in front, which production has anyway.
        parser.add_argument("--workers", type=int, default=max(2, 2 * (os.cpu_count() or 1)))
        parser.add_argument("--threads", type=int, default=1)

    def handle(self, *args, host, port, workers, threads, **opts):
        try:
            check_keys_usable()
        except KeyRingError as exc:
            raise CommandError(f"cannot serve: {exc}", returncode=1)
        run_gunicorn(host, port, workers=workers, threads=threads)
