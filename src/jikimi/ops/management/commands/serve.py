from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from jikimi.core.keyring import KeyRingError
from jikimi.core.services import check_keys_usable
from jikimi.ops.serve import MonitorProcess, run_gunicorn


class Command(BaseCommand):
    help = (
        "Initialise, optionally seed demo data, then serve the pages and API and run "
        "the monitor beside them in its own process (the embedded install)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="seed synthetic demo data if the database is empty"
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--no-monitor", action="store_true", help="do not start the monitor process"
        )

    def handle(
        self, *args, demo=False, host="127.0.0.1", port=8000, threads=8, no_monitor=False, **opts
    ):
        call_command("init", stdout=self.stdout)
        try:
            check_keys_usable()
        except KeyRingError as exc:
            raise CommandError(f"cannot serve: {exc}", returncode=1)
        if demo:
            from jikimi.ops.demo import seed_demo

            summary = seed_demo()
            self.stdout.write(summary)
        if host not in settings.ALLOWED_HOSTS and host != "0.0.0.0":  # noqa: S104
            settings.ALLOWED_HOSTS.append(host)
        # run_gunicorn closes the connections init and the demo seed opened before it forks
        # the workers; the monitor is a fresh interpreter (fork and exec), so none reaches it.
        monitor = None if no_monitor else MonitorProcess().start()
        self.stdout.write(f"Jikimi is serving on http://{host}:{port}/ (Ctrl-C stops)")
        self.stdout.flush()
        try:
            run_gunicorn(host, port, workers=1, threads=threads)
        finally:
            if monitor is not None:
                monitor.stop()
