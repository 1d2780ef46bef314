"""The monitor's passes, registered by the apps that own them (`jikimi monitor`).

Each app registers its own pass in `AppConfig.ready()` — check-ins its due enrolments,
alerts the generic escalation ladder, notify the outbox delivery — and `jikimi monitor`
runs them all, in `order`, on every loop. A pass is called with the loop's options (e.g.
`{"lease_seconds": 60}`; each pass reads what it needs) and returns counters (e.g.
`{"alerts": 2}`); the loop adds them up for its report line.

An error in one pass is logged and the other passes still run: a monitor that stops
silently is exactly the failure Jikimi exists to prevent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections, connection

log = logging.getLogger("jikimi.monitor")

PassFn = Callable[[Mapping[str, Any]], Mapping[str, int] | None]


@dataclass(frozen=True)
class MonitorPass:
    name: str
    fn: PassFn
    order: int  # lower runs first: raise alerts before delivering their messages
    every_seconds: float  # 0: every loop


_passes: dict[str, MonitorPass] = {}


def register_pass(name: str, fn: PassFn, *, order: int = 50, every_seconds: float = 0) -> None:
    """Register (or replace, on a repeated `ready()`) the pass called `name`."""
    _passes[name] = MonitorPass(name, fn, order, every_seconds)


def passes() -> list[MonitorPass]:
    return sorted(_passes.values(), key=lambda p: (p.order, p.name))


def run_passes(
    options: Mapping[str, Any] | None = None,
    *,
    skip: frozenset[str] = frozenset(),
    last_run: dict[str, float] | None = None,
) -> Counter[str]:
    """Run every registered pass once (those in `skip` not at all, those with
    `every_seconds` only when their time has come since `last_run`); return the counters."""
    totals: Counter[str] = Counter()
    options = {} if options is None else options
    last_run = {} if last_run is None else last_run
    for p in passes():
        if p.name in skip:
            continue
        started = time.monotonic()
        if p.every_seconds and started - last_run.get(p.name, -p.every_seconds) < p.every_seconds:
            continue
        last_run[p.name] = started
        try:
            totals.update(p.fn(options) or {})
        except Exception:
            log.exception("monitor pass %s failed; the next loop retries it", p.name)
            _drop_broken_connection()
    return totals


def _drop_broken_connection() -> None:
    """After an error the connection may be dead (a database restart) or inside a failed
    transaction: close it, and the next pass opens a fresh one."""
    try:
        connection.close()
    except Exception:  # noqa: S110 - closing a broken connection may fail too
        pass


def run_loop(
    stop: threading.Event,
    interval: float = 1.0,
    options: Mapping[str, Any] | None = None,
    *,
    skip: frozenset[str] = frozenset(),
) -> None:
    """Run every pass each `interval` seconds until `stop` is set."""
    last_run: dict[str, float] = {}
    first = True
    while not stop.is_set():
        started = time.monotonic()
        try:
            close_old_connections()
        except Exception:
            # Even dropping a dead connection can fail: nothing may end the loop.
            log.exception("closing old database connections failed")
            _drop_broken_connection()
        run_passes(options, skip=skip, last_run=last_run)
        if first:  # a restarted monitor says when it is back (bench/bench_startup.py waits on it)
            log.info("monitor running: first pass done, then every %s s", interval)
            first = False
        stop.wait(max(0.05, interval - (time.monotonic() - started)))
    connection.close()
