import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from jikimi.core.keyring import KeyRingError
from jikimi.core.services import check_keys_usable, start_background_workers


class Command(BaseCommand):
    help = (
        "Initialise, optionally seed demo data, then serve the pages and API and run "
        "the check-in monitor in one process (the embedded install)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="seed synthetic demo data if the database is empty"
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--no-monitor", action="store_true")

    def handle(
        self, *args, demo=False, host="127.0.0.1", port=8000, threads=8, no_monitor=False, **opts
    ):
        call_command("init", stdout=self.stdout)
        try:
            check_keys_usable()
        except KeyRingError as exc:
            raise CommandError(f"cannot serve: {exc}", returncode=1)
        if demo:
            from jikimi.people.demo import seed_demo

            summary = seed_demo()
            self.stdout.write(summary)
        if host not in settings.ALLOWED_HOSTS and host != "0.0.0.0":  # noqa: S104
            settings.ALLOWED_HOSTS.append(host)
        # init and the demo seed opened database connections; a forked worker must not
        # inherit them (two processes on one connection corrupt its state).
        connections.close_all()
        stop = threading.Event()
        if not no_monitor:
            start_background_workers(stop)
        self.stdout.write(f"Jikimi is serving on http://{host}:{port}/ (Ctrl-C stops)")
        try:
            run_gunicorn(host, port, workers=1, threads=threads)
        finally:
            stop.set()


def run_gunicorn(host: str, port: int, *, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    from jikimi.wsgi import application

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)  # URLs can carry search terms: no access log
            self.cfg.set("graceful_timeout", 5)

        def load(self):
            return application

    _App().run()
