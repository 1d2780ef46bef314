"""Running the whole: gunicorn for the pages and API, the monitor as its own process.

`jikimi serve` is the embedded install: one command that serves and monitors. Its process is
gunicorn's master, which forks the web workers, so it must hold no database connection when
it does (`jikimi.core.db`, rule 1). The monitor therefore never runs inside it: it is a child
process started with the server (`jikimi monitor`, a fresh interpreter, so nothing of this
process's state crosses), watched by a thread that restarts it if it dies and stops it with
the server. A monitor that is down is the failure this product exists to prevent, so a death
is logged as an error and the monitor is back within a second.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence

log = logging.getLogger("jikimi.ops")

RESTART_DELAY = 0.5  # seconds between a monitor's death and its restart
STOP_TIMEOUT = 10.0  # seconds a stopping monitor gets to finish its pass


def jikimi_command(*args: str) -> list[str]:
    """The argv that runs `jikimi ARGS…` with this interpreter (no PATH look-up)."""
    return [sys.executable, "-m", "jikimi.cli", *args]


class MonitorProcess:
    """`jikimi monitor` as a child process, restarted whenever it exits unasked."""

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        self.argv = list(argv or jikimi_command("monitor"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> MonitorProcess:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="monitor-watch", daemon=True)
        self._watcher.start()
        return self

    def _spawn(self) -> None:
        # close_fds (the default) and a fresh interpreter: no descriptor or connection of
        # the server's reaches the monitor.
        self.proc = subprocess.Popen(self.argv, env=os.environ.copy())  # noqa: S603
        log.info("monitor started (pid %d)", self.proc.pid)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self.proc
            assert proc is not None
            code = proc.wait()
            if self._stopping.is_set():
                return
            log.error("the monitor exited with status %s; restarting it", code)
            self.restarts += 1
            if self._stopping.wait(RESTART_DELAY):
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # the monitor ends its pass and exits
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.error("the monitor did not stop in %.0f s; killed", STOP_TIMEOUT)
            proc.kill()
            proc.wait()


def run_gunicorn(host: str, port: int, *, workers: int, threads: int) -> None:
    """Serve jikimi.wsgi with gunicorn in this process (its master)."""
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    from jikimi.core.db import check_no_connection_before_fork

    # The command's own start-up (system checks, init, the demo seed) opened connections in
    # this process; it is about to fork the workers, so none may stay open (jikimi.core.db).
    connections.close_all()

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", None)  # URLs can carry search terms: no access log
            self.cfg.set("graceful_timeout", 5)
            # The application is imported once, in the master, so a restarted worker is
            # serving again at once (a fork, not a fresh Django start). Importing opens no
            # database connection, and pre_fork checks that none is open.
            self.cfg.set("preload_app", True)
            # No control socket: it is one path per user account ($HOME/.gunicorn), shared by
            # every server of that user, and an interface we do not use.
            self.cfg.set("control_socket_disable", True)
            self.cfg.set("pre_fork", lambda server, worker: check_no_connection_before_fork())

        def load(self):
            from jikimi.wsgi import application

            return application

    _App().run()
