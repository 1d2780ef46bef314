"""How Jikimi uses its database connections, SQLite above all.

SQLite is the embedded default and several processes use one file at once: the web server's
workers, the monitor, and whatever an operator runs beside them (`jikimi import`, `audit
verify`, `backup`). Its rules for that, and how each is kept here:

1. **No connection may cross `fork()`.** SQLite's POSIX locks belong to a process, and its
   per-file lock bookkeeping is copied into the child, which then believes it holds locks it
   does not. A checkpoint elsewhere can delete the `-wal`/`-shm` files under it, and writes
   answered as done are lost (seen: issue 10). So `jikimi serve` runs the monitor as its own
   process and gunicorn's master holds no connection when it forks a worker;
   `check_no_connection_before_fork` guards that, and `_after_fork_in_child` keeps any
   connection that crossed a fork anyway from ever being closed (or used) in the child.
2. **One writer at a time, waiting instead of failing.** Every transaction begins
   `IMMEDIATE`, so it takes the write lock at its start and never has to upgrade a read
   snapshot (an upgrade fails at once with SQLITE_BUSY, without waiting). A busy lock is
   retried by SQLite's busy handler for `SQLITE_BUSY_TIMEOUT` seconds; if it is still held
   then, the request answers 503 with Retry-After (`server_error`), never a 500.
3. **WAL**, so readers never block the writer or each other.
4. **`synchronous=FULL`**: a commit is on disk (fsync of the WAL) before it is answered; with
   NORMAL a power cut or an OS crash could still lose the last commits. It costs an fsync per
   commit. `JIKIMI_SQLITE_SYNCHRONOUS=NORMAL` trades that for speed, where a lost commit after
   a power cut is acceptable (never for a protection install).
5. Connections persist for `JIKIMI_SQLITE_CONN_MAX_AGE` seconds (opening one with its PRAGMAs
   costs more than a check-in); that is safe because of rule 1.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any

log = logging.getLogger("jikimi.core.db")

SQLITE_BUSY_TIMEOUT = 30.0  # seconds SQLite's busy handler keeps retrying a held lock
SYNCHRONOUS_MODES = ("FULL", "NORMAL", "EXTRA")


def sqlite_database(path: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """The DATABASES entry for the SQLite file at `path` (settings.py calls this)."""
    env = dict(os.environ if env is None else env)
    synchronous = env.get("JIKIMI_SQLITE_SYNCHRONOUS", "FULL").upper()
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(
            f"JIKIMI_SQLITE_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_MODES)}, "
            f"not {synchronous!r}"
        )
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "CONN_MAX_AGE": int(env.get("JIKIMI_SQLITE_CONN_MAX_AGE", "600")),
        # A connection that broke (the file replaced by `jikimi restore`) is replaced.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "timeout": SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            "init_command": f"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};",
        },
    }


# --- Rule 1: nothing crosses fork() ---------------------------------------------------------

# The Django connection wrappers of every thread that opened a SQLite connection (a raw
# sqlite3.Connection cannot be weakly referenced; its wrapper can).
_wrappers: weakref.WeakSet[Any] = weakref.WeakSet()
_wrappers_lock = threading.Lock()
# Connections inherited through fork() are kept here for the child's whole life: closing one
# (or letting the garbage collector close it) would run SQLite's close path — a checkpoint,
# perhaps deleting the WAL — on the parent's file with the parent's lock state.
_inherited: list[Any] = []


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        with _wrappers_lock:
            _wrappers.add(connection)


def _open_wrappers() -> list[Any]:
    with _wrappers_lock:
        return [w for w in _wrappers if w.connection is not None]


def open_sqlite_connections() -> int:
    """How many SQLite connections of this process are open now, whatever the thread."""
    return len(_open_wrappers())


def check_no_connection_before_fork() -> None:
    """Raise if this process holds an open SQLite connection (call before forking)."""
    alive = open_sqlite_connections()
    if alive:
        raise RuntimeError(
            f"{alive} SQLite connection(s) open before fork(): close them first "
            "(a connection carried into a child process corrupts the database)"
        )


def _after_fork_in_child() -> None:
    alive = _open_wrappers()
    if not alive:
        return
    log.error(
        "%d SQLite connection(s) crossed fork(); the child will not use or close them",
        len(alive),
    )
    # Forget each without closing, so that the child opens its own when it needs one.
    for wrapper in alive:
        _inherited.append(wrapper.connection)
        wrapper.connection = None


def install() -> None:
    """Track connections and guard forks (CoreConfig.ready)."""
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connection_created, dispatch_uid="jikimi.core.db.track")
    if not getattr(install, "_forks_guarded", False):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        install._forks_guarded = True  # type: ignore[attr-defined]


# --- Rule 2: a lock still held after the busy timeout is a 503, not a 500 ------------------


def is_busy_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database table is locked" errors."""
    from django.db import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    return "database is locked" in text or "table is locked" in text or "database is busy" in text


def server_error(request: Any) -> Any:
    """Django's handler500: a database still locked after the busy timeout answers 503.

    Every unhandled exception, from a view, a middleware or DRF, ends here, so this is the one
    place that tells "busy, nothing was changed, retry" from a real server error. The
    transaction that could not start changed nothing, so the client may simply retry.
    """
    import sys

    from django.http import HttpResponse, JsonResponse
    from django.views.defaults import server_error as django_server_error

    exc = sys.exc_info()[1]
    if exc is None or not is_busy_error(exc):
        return django_server_error(request)
    from django.utils.translation import gettext as _

    log.warning("database busy past %.0f s: answered 503", SQLITE_BUSY_TIMEOUT)
    message = _("The database is busy. Nothing was changed: please try again in a moment.")
    if request.path.startswith("/api/"):
        response: Any = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "2"
    return response
