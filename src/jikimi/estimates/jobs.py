"""Long estimates as background jobs: created by the page or the API, run by the monitor.

``create_job(user, **params)`` checks the request as ``inapp.run_estimate`` would (bad input:
``EstimateRequestError`` at once, nothing stored) and queues it. ``job_pass``, a monitor pass,
claims due jobs with a conditional UPDATE (a queued job, or a running one whose lease ran
out: its monitor died), counts the capture histories in the monitor's own process (database
work, quick) and estimates the tables in a spawned child process (``runner``: numbers only,
no database connection). The pass never waits for the child: on each loop it reads the
child's progress, writes it to the row and renews the lease, so the monitor's other passes
(check-in deadlines, the outbox) keep running every loop. A child that dies, a job over its
time limit, a request that became invalid: the job fails with its reason.

The finished job keeps the Estimate JSON (``result``, messages in English) and everything
the page shows (``outcome``: tables, details, messages still translatable), so its page and
its API answer render in the reader's language exactly as a synchronous run would.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _lazy

from jikimi.accounts.models import User
from jikimi.accounts.services import AccessDenied

from . import inapp, runner
from .inapp import CaptureHistories, EstimatePlan, InAppEstimate, StratumResult
from .messages import Message, localised
from .models import EstimateJob, JobState
from .monitor import due
from .services import Estimate
from .tables import table_from_counts

log = logging.getLogger("jikimi.estimates.jobs")

LEASE_SECONDS = 60.0  # renewed on every monitor loop while the child runs
TIMEOUT_SECONDS = 30 * 60.0  # a job still running after this fails
MAX_ATTEMPTS = 3  # a job whose monitor died this often fails instead of being taken again
WORKERS = 1  # child processes per monitor (the machine's cores are shared with the web)
RECENT_JOBS = 20
WORKER_ID = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

STAGE_LABELS = {
    "queued": _lazy("Waiting for the monitor"),
    "histories": _lazy("Counting the capture histories"),
    "fit": _lazy("Fitting the models"),
    "bootstrap": _lazy("Bootstrap: refitting on resampled tables"),
    "jackknife": _lazy("Jackknife for the interval's correction"),
    "grid": _lazy("Averaging over the models, point by point"),
    "quick_sampling": _lazy("Sampling the short chain"),
    "sampling": _lazy("Sampling the chain"),
    "saving": _lazy("Saving the result"),
}


def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage))


# --- Creating and reading jobs ------------------------------------------------------------


def create_job(user: User, **params) -> EstimateJob:
    """Queue an estimate; the same checks as a synchronous run, so bad input fails now.
    The run itself is audited (``estimate.run``, the asker its actor) when the monitor
    finishes it, as a synchronous run is."""
    inapp.require_estimates(user)
    request = inapp.check_request(user, check_lists=True, **params)
    job = EstimateJob.objects.create(
        organisation_id=user.org_id,
        user=user,
        params=request.params(),
        stage="queued",
    )
    return job


QUICK_METHODS = ("independence", "stepwise", "bic")  # with the model (Wald) interval


def is_quick(user: User, params: Mapping[str, Any]) -> bool:
    """Whether a request is answered inline: a log-linear fit with the Wald interval, or a
    long method whose every table's result is already cached (bad input: raises)."""
    request = inapp.check_request(user, **params)
    if request.method in QUICK_METHODS and request.interval == "model":
        return True
    plan = inapp.plan_estimate(user, request)
    return len(inapp.cached_outcomes(plan)) == len(plan.pending())


def get_job(user: User, job_id) -> EstimateJob:
    """The organisation's job; ``Http404`` for another organisation's (never 403)."""
    inapp.require_estimates(user)
    try:
        return EstimateJob.objects.get(pk=job_id, organisation_id=user.org_id)
    except (EstimateJob.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404("no such job") from exc  # a malformed id reads as no such job


def recent_jobs(user: User, limit: int = RECENT_JOBS) -> list[EstimateJob]:
    inapp.require_estimates(user)
    return list(
        EstimateJob.objects.filter(organisation_id=user.org_id)
        .select_related("user")
        .order_by("-created_at")[:limit]
    )


def cancel_job(user: User, job_id) -> EstimateJob:
    """Cancel a queued or running job (its monitor stops the child on its next loop)."""
    job = get_job(user, job_id)
    EstimateJob.objects.filter(pk=job.pk, state__in=[JobState.QUEUED, JobState.RUNNING]).update(
        state=JobState.CANCELLED, finished_at=timezone.now(), lease_expires=None
    )
    job.refresh_from_db()
    return job


def job_estimate(job: EstimateJob) -> InAppEstimate | None:
    """A done job's estimate, its messages in the active language (as ``run_estimate``)."""
    if job.state != JobState.DONE or not job.outcome:
        return None
    return inapp.localise_estimate(unpack_estimate(job.outcome))


def error_text(job: EstimateJob) -> tuple[str | None, str]:
    """A failed job's field (or None) and its reason in the active language."""
    error = job.error or {}
    texts = error.get("text") or {}
    language = translation.get_language() or settings.LANGUAGE_CODE
    text = texts.get(language[:2]) or texts.get("en") or next(iter(texts.values()), "")
    return error.get("field"), text


def query_string(job: EstimateJob) -> str:
    """The page's GET query for the job's request (the CSV download link uses it)."""
    from django.http import QueryDict

    params = job.params
    query = QueryDict(mutable=True)
    lists = params["lists"]
    query.setlist("lists", list(lists) if not isinstance(lists, Mapping) else list(lists))
    for key in ("method", "level", "stratify_by", "seed", "interval"):
        if params.get(key) not in (None, ""):
            query[key] = str(params[key])
    return query.urlencode()


# --- Packing an estimate as JSON text (messages kept translatable) -------------------------


def _pack(value: Any) -> Any:
    if isinstance(value, Message):
        return {"$msg": value.template, "p": {k: _pack(v) for k, v in value.params.items()}}
    if isinstance(value, Mapping):
        return {str(k): _pack(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_pack(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if "$msg" in value:
            return Message(value["$msg"], {k: _unpack(v) for k, v in value["p"].items()} or None)
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def _pack_table(table) -> dict:
    return {
        "lists": list(table.lists),
        "patterns": _pack(table.patterns),
        "counts": _pack(table.counts),
    }


def _unpack_table(data: dict):
    counts = {tuple(p): int(c) for p, c in zip(data["patterns"], data["counts"], strict=True)}
    return table_from_counts(data["lists"], counts)


def _pack_stratum(result: StratumResult) -> dict:
    est = result.estimate
    return {
        "stratum": result.stratum,
        "table": _pack_table(result.table),
        "reason": _pack(result.reason),
        "estimate": None
        if est is None
        else {
            "method": est.method,
            "lists": list(est.lists),
            "observed": int(est.observed),
            "estimate": float(est.estimate),
            "interval": [float(est.interval[0]), float(est.interval[1])],
            "level": est.level,
            "model": _pack(est.model),
            "warnings": _pack(est.warnings),
            "details": _pack(est.details),
        },
    }


def _unpack_stratum(data: dict) -> StratumResult:
    est = data["estimate"]
    estimate = None
    if est is not None:
        estimate = Estimate(
            method=est["method"],
            lists=est["lists"],
            observed=est["observed"],
            estimate=est["estimate"],
            interval=(est["interval"][0], est["interval"][1]),
            level=est["level"],
            model=_unpack(est["model"]),
            warnings=_unpack(est["warnings"]),
            details=_unpack(est["details"]),
        )
    return StratumResult(
        data["stratum"], _unpack_table(data["table"]), estimate, _unpack(data["reason"])
    )


def pack_estimate(result: InAppEstimate) -> str:
    """JSON text of an in-app estimate whose messages are not yet localised."""
    h = result.histories
    data = {
        "version": 1,
        "method": result.method,
        "level": result.level,
        "seed": result.seed,
        "histories": {
            "lists": list(h.lists),
            "sources": {k: list(v) for k, v in h.sources.items()},
            "total": _pack_table(h.total),
            "stratify_by": h.stratify_by,
            "strata": [[k, _pack_table(t)] for k, t in h.strata.items()],
            "people": h.people,
            "individuals": h.individuals,
            "linked": h.linked,
            "warnings": _pack(h.warnings),
        },
        "total": _pack_stratum(result.total),
        "strata": [_pack_stratum(s) for s in result.strata],
    }
    return json.dumps(data, allow_nan=True)  # an open interval is Infinity


def unpack_estimate(text: str) -> InAppEstimate:
    data = json.loads(text)
    h = data["histories"]
    histories = CaptureHistories(
        lists=tuple(h["lists"]),
        sources={k: tuple(v) for k, v in h["sources"].items()},
        total=_unpack_table(h["total"]),
        stratify_by=h["stratify_by"],
        strata={k: _unpack_table(t) for k, t in h["strata"]},
        people=h["people"],
        individuals=h["individuals"],
        linked=h["linked"],
        warnings=_unpack(h["warnings"]),
    )
    return InAppEstimate(
        histories,
        data["method"],
        data["level"],
        data["seed"],
        _unpack_stratum(data["total"]),
        [_unpack_stratum(s) for s in data["strata"]],
    )


def _json_safe(value: Any) -> Any:
    """The contract JSON with plain numbers (a non-finite one as null)."""
    value = _pack(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _in_each_language(text: Callable[[], object]) -> dict[str, str]:
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(text())
    return texts


# --- The monitor pass --------------------------------------------------------------------


@dataclass
class _Running:
    job_id: uuid.UUID
    plan: EstimatePlan
    process: Any  # None: every table was in the cache
    conn: Any
    started: float
    outcomes: dict = field(default_factory=dict)
    done: bool = False


_running: dict[uuid.UUID, _Running] = {}


def _mp_context():
    return multiprocessing.get_context("spawn")


def _fail(job_id, text: Callable[[], object], field_name: str | None = None) -> None:
    EstimateJob.objects.filter(pk=job_id, worker=WORKER_ID, state=JobState.RUNNING).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        lease_expires=None,
        error={"field": field_name, "text": _in_each_language(text)},
    )


def _stop(run: _Running) -> None:
    _running.pop(run.job_id, None)
    if run.process is None:
        return
    try:
        run.conn.close()
    except OSError:
        pass
    if run.process.is_alive():
        run.process.kill()
    run.process.join(timeout=5)


def _claim(now, lease: float) -> EstimateJob | None:
    """One due job, claimed by this monitor (another monitor's claim wins cleanly)."""
    for job in EstimateJob.objects.filter(due(now)).order_by("created_at")[:10]:
        claimed = (
            EstimateJob.objects.filter(pk=job.pk, state=job.state, lease_expires=job.lease_expires)
            .filter(Q(worker=job.worker))
            .update(
                state=JobState.RUNNING,
                worker=WORKER_ID,
                lease_expires=now + timedelta(seconds=lease),
                attempts=F("attempts") + 1,
                started_at=now,
                progress=0.0,
                stage="histories",
            )
        )
        if claimed:
            job.refresh_from_db()
            return job
    return None


def _start(job: EstimateJob) -> None:
    """Plan the job here (database work), then start the child on what is left to compute."""
    if job.attempts > MAX_ATTEMPTS:
        _fail(
            job.pk,
            lambda: (
                _lazy("the job was interrupted %(n)d times; start it again") % {"n": MAX_ATTEMPTS}
            ),
        )
        return
    user = job.user
    params = job.params
    try:
        request = inapp.check_request(user, **params)
        plan = inapp.plan_estimate(user, request)
    except inapp.EstimateRequestError as exc:
        field_name, message = next(iter(exc.errors.items()))

        def again() -> str:
            try:
                inapp.check_request(user, check_lists=True, **params)
            except inapp.EstimateRequestError as again_exc:
                return str(next(iter(again_exc.errors.values())))
            return str(message)

        _fail(job.pk, again, field_name)
        return
    except AccessDenied:
        _fail(job.pk, lambda: _lazy("the person who asked may no longer run estimates"))
        return
    outcomes = inapp.cached_outcomes(plan)
    tasks = [(i, table, opts) for i, table, opts in plan.pending() if i not in outcomes]
    if not tasks:
        _finish(_Running(job.pk, plan, None, None, time.monotonic(), outcomes, True), job)
        return
    ctx = _mp_context()
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=runner.run,
        args=(send, tasks, request.method, request.level, request.seed),
        daemon=True,
        name=f"jikimi-estimate-{job.pk}",
    )
    process.start()
    send.close()  # the child holds its end; ours closes so a dead child reads as EOF
    _running[job.pk] = _Running(job.pk, plan, process, receive, time.monotonic(), outcomes)


def _finish(run: _Running, job: EstimateJob) -> None:
    plan = run.plan
    total = run.outcomes.get(0)
    if total is not None and total[1] is not None:
        reason = total[1]
        if not isinstance(reason, inapp.NoFiniteEstimate):
            message = reason.args[0] if reason.args else str(reason)
            _fail(job.pk, lambda: localised(message, translation.gettext), "method")
            return
    for i, outcome in run.outcomes.items():
        inapp.store_outcome(plan, i, outcome)
    raw = inapp.finish_plan(job.user, plan, run.outcomes)
    EstimateJob.objects.filter(pk=job.pk, worker=WORKER_ID, state=JobState.RUNNING).update(
        state=JobState.DONE,
        progress=1.0,
        stage="saving",
        finished_at=timezone.now(),
        lease_expires=None,
        outcome=pack_estimate(raw),
        result=_json_safe(raw.to_json_dict()),
    )


def _supervise(run: _Running, now, lease: float, timeout: float) -> str:
    """Read the child's reports, write progress and renew the lease; say what became of it."""
    progress: tuple[float, str] | None = None
    try:
        while not run.done and run.conn.poll():
            message = run.conn.recv()
            if message[0] == "progress":
                progress = (message[1], message[2])
            elif message[0] == "outcome":
                run.outcomes[message[1]] = message[2]
            elif message[0] == "done":
                run.done = True
    except (EOFError, OSError):
        pass  # the child is gone: below, done or died
    job = EstimateJob.objects.filter(pk=run.job_id).select_related("user").first()
    if job is None or job.state != JobState.RUNNING or job.worker != WORKER_ID:
        _stop(run)  # cancelled, or taken by another monitor after our lease ran out
        return "cancelled"
    if run.done:
        _stop(run)
        _finish(run, job)
        return "finished"
    if not run.process.is_alive():
        code = run.process.exitcode
        _stop(run)
        _fail(
            job.pk,
            lambda: (
                _lazy("the computation stopped unexpectedly (exit code %(code)s)") % {"code": code}
            ),
        )
        return "failed"
    if time.monotonic() - run.started > timeout:
        _stop(run)
        _fail(
            job.pk,
            lambda: (
                _lazy("the computation took longer than %(n)s seconds and was stopped")
                % {"n": f"{timeout:g}"}
            ),
        )
        return "failed"
    changes: dict[str, Any] = {"lease_expires": now + timedelta(seconds=lease)}
    if progress is not None:
        changes.update(progress=min(0.99, float(progress[0])), stage=progress[1][:32])
    EstimateJob.objects.filter(pk=job.pk, worker=WORKER_ID, state=JobState.RUNNING).update(
        **changes
    )
    return "running"


def job_pass(options: Mapping[str, Any] | None = None, *, claim: bool = True) -> dict[str, int]:
    """The monitor pass: look after this monitor's running jobs, then claim due ones.

    Options: ``estimate_lease_seconds``, ``estimate_timeout_seconds``, ``estimate_workers``.
    Returns quickly whatever the jobs do: the estimation runs in child processes.
    ``claim=False`` only looks after the running ones (``finish_running``).
    """
    options = options or {}
    lease = float(options.get("estimate_lease_seconds", LEASE_SECONDS))
    timeout = float(options.get("estimate_timeout_seconds", TIMEOUT_SECONDS))
    workers = int(options.get("estimate_workers", WORKERS))
    now = timezone.now()
    counts = {"estimate_jobs_finished": 0, "estimate_jobs_failed": 0, "estimate_jobs_started": 0}
    for run in list(_running.values()):
        try:
            what = _supervise(run, now, lease, timeout)
        except Exception:
            log.exception("estimate job %s: supervising failed", run.job_id)
            _stop(run)
            _fail(run.job_id, lambda: _lazy("the result could not be saved"))
            what = "failed"
        if what == "finished":
            counts["estimate_jobs_finished"] += 1
        elif what == "failed":
            counts["estimate_jobs_failed"] += 1
    while claim and len(_running) < workers:
        job = _claim(now, lease)
        if job is None:
            break
        counts["estimate_jobs_started"] += 1
        try:
            _start(job)
        except Exception:
            log.exception("estimate job %s: starting failed", job.pk)
            _fail(job.pk, lambda: _lazy("the job could not be started"))
    return counts


def finish_running(
    options: Mapping[str, Any] | None = None, poll_seconds: float = 0.2
) -> dict[str, int]:
    """Wait for the jobs this process started, looking after them as the loop would (progress,
    lease, time limit: a job over ``estimate_timeout_seconds`` fails, so this ends by then).

    ``jikimi monitor --once`` calls it: its children are daemon processes and die with it, so
    a run from cron would otherwise leave every job longer than the run to be claimed again
    after its lease, and never finish it. Claims no new job.
    """
    totals = {"estimate_jobs_finished": 0, "estimate_jobs_failed": 0}
    while _running:
        time.sleep(poll_seconds)
        counts = job_pass(options, claim=False)
        for key in totals:
            totals[key] += counts[key]
    return totals


def running_here() -> int:
    """How many jobs this process is running (tests and the bench wait on it)."""
    return len(_running)
