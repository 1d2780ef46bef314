"""Long estimates as background jobs: the page and the API queue them, the monitor runs them."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from jikimi.estimates import inapp, jobs
from jikimi.estimates.models import EstimateJob, JobState

from .mse_db import build

pytestmark = pytest.mark.django_db

URL = "/estimates/"
MY3 = "dga_madigan_york_3list.csv"
BOOT = {"lists": ["A", "B", "C"], "method": "stepwise", "level": "0.95", "interval": "bootstrap"}


@pytest.fixture(autouse=True)
def _no_linkage(monkeypatch):
    monkeypatch.setattr(inapp, "default_cluster_of", lambda: lambda ids: {})


@pytest.fixture(autouse=True)
def _no_leftover_children():
    yield
    for run in list(jobs._running.values()):
        jobs._stop(run)


def run_jobs(step=lambda: jobs.job_pass({}), limit: float = 120.0) -> list[tuple[float, str]]:
    """Call the monitor pass until no job is queued or running here; the progress seen."""
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        step()
        for job in EstimateJob.objects.filter(state=JobState.RUNNING):
            seen.append((job.progress, job.stage))
        pending = EstimateJob.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING])
        if not pending.exists() and not jobs.running_here():
            return seen
        time.sleep(0.05)
    raise AssertionError("the jobs did not finish")


def test_a_job_from_the_page_is_run_by_the_monitor_and_equals_the_synchronous_result(
    client, staff, login, orgs, cli
):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    response = client.post(URL, BOOT)
    assert response.status_code == 302
    job = EstimateJob.objects.get()
    assert response["Location"] == f"/estimates/jobs/{job.pk}/"
    assert job.state == JobState.QUEUED and job.user == staff["analyst"]
    waiting = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in waiting and "data-refresh" in waiting
    assert "estimate-result" not in waiting
    # The same request as a bookmark (GET) is not computed in the request: it offers a job.
    bookmark = client.get(URL, BOOT).content.decode()
    assert "data-needs-job" in bookmark and "estimate-result" not in bookmark

    run_jobs(lambda: cli("monitor", "--once"))  # the real command, its passes in order
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    assert job.progress == 1.0 and job.finished_at >= job.started_at
    params = {**BOOT, "level": 0.95}
    with translation.override("en"):
        sync = inapp.run_estimate(staff["analyst"], **params).to_json_dict()
        assert jobs.job_estimate(job).to_json_dict() == sync
    assert job.result["estimate"] == sync["estimate"] and job.result["interval"] == sync["interval"]
    assert "BCa bootstrap interval, 500 replicates" in job.result["model"]

    # The fragment now asks htmx to reload; the page shows the result as the inline page does.
    status = client.get(f"/estimates/jobs/{job.pk}/status")
    assert status["HX-Refresh"] == "true"
    page = client.get(f"/estimates/jobs/{job.pk}/").content.decode()
    assert "estimate-result" in page and "hx-trigger" not in page
    # This process ran it (the monitor in-process): the bookmark now answers from the cache.
    assert "estimate-result" in client.get(URL, BOOT).content.decode()
    estimate = inapp.run_estimate(staff["analyst"], **params).total.estimate
    assert f"{estimate.estimate:,.1f}" in page
    assert "재표본" in page or "BCa" in page  # the Korean description of the interval
    listing = client.get("/estimates/jobs/").content.decode()
    assert str(job.pk) in listing


def test_a_quick_request_still_answers_inline_and_a_post_redirects_to_it(
    client, staff, login, orgs
):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    response = client.post(URL, {"lists": ["A", "B", "C"], "method": "bic"})
    assert response.status_code == 302 and response["Location"].startswith("/estimates/?")
    assert "estimate-result" in client.get(response["Location"]).content.decode()
    assert not EstimateJob.objects.exists()


def test_progress_advances_while_the_job_runs(staff, orgs):
    build(orgs[0], "dga_madigan_york_5list.csv")
    job = jobs.create_job(
        staff["analyst"], lists=["A", "B", "C", "D", "E"], interval="bootstrap", seed=7
    )
    seen = run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    fractions = [f for f, _stage in seen]
    assert fractions == sorted(fractions)  # never back
    assert any(0 < f < 1 for f in fractions), seen
    assert {"bootstrap"} <= {stage for _f, stage in seen}


def test_a_job_whose_monitor_died_is_claimed_again_after_its_lease(staff, orgs):
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="bma")
    # A monitor claimed it and died: its lease still runs, so nobody takes the job.
    alive = timezone.now() + timedelta(seconds=30)
    EstimateJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING, worker="dead-monitor", lease_expires=alive, attempts=1
    )
    jobs.job_pass({})
    job.refresh_from_db()
    assert job.worker == "dead-monitor" and not jobs.running_here()
    # The lease ran out: the next pass claims it and finishes it.
    EstimateJob.objects.filter(pk=job.pk).update(lease_expires=timezone.now() - timedelta(1))
    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.worker == jobs.WORKER_ID and job.attempts == 2


def test_a_job_interrupted_too_often_fails_with_its_reason(client, staff, login, orgs):
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="bma")
    EstimateJob.objects.filter(pk=job.pk).update(
        state=JobState.RUNNING,
        worker="dead-monitor",
        lease_expires=timezone.now() - timedelta(seconds=1),
        attempts=jobs.MAX_ATTEMPTS,
    )
    run_jobs()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    login(client, staff["analyst"])
    client.cookies.load({"django_language": "en"})
    page = client.get(f"/estimates/jobs/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "interrupted 3 times" in page and 'data-state="failed"' in page


def test_a_job_over_its_time_limit_fails_and_says_so_in_korean(client, staff, login, orgs):
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="lcmcr")
    run_jobs(lambda: jobs.job_pass({"estimate_timeout_seconds": 0.0}))
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.result is None
    login(client, staff["analyst"])
    page = client.get(f"/estimates/jobs/{job.pk}/").content.decode()

    assert "data-error" in page and "0초" in page


def test_bad_input_is_refused_at_once_with_nothing_queued(client, staff, login, orgs):
    build(orgs[0], MY3)
    login(client, staff["analyst"])
    response = client.post(URL, {**BOOT, "method": "bma"})  # bootstrap is for stepwise only
    assert response.status_code == 400 and b"field-error" in response.content
    with pytest.raises(inapp.EstimateRequestError) as caught:
        jobs.create_job(staff["analyst"], lists=["A", "Z"], method="bma")
    assert "lists" in caught.value.errors
    assert not EstimateJob.objects.exists()


def test_another_organisations_job_is_not_found(client, staff, login, orgs, api_client, api_token):
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="bma")
    outsider = staff["outsider"]
    outsider.role = "analyst"
    outsider.save(update_fields=["role"])
    login(client, outsider)
    for path in ("", "status"):
        assert client.get(f"/estimates/jobs/{job.pk}/{path}").status_code == 404
    assert client.post(f"/estimates/jobs/{job.pk}/cancel").status_code == 404
    assert str(job.pk) not in client.get("/estimates/jobs/").content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(outsider)}")
    response = api_client.get(f"/api/estimates/jobs/{job.pk}/")
    assert response.status_code == 404 and "detail" in response.json()


def test_a_cancelled_job_stops_its_child(client, staff, login, orgs):
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="lcmcr")
    jobs.job_pass({})
    assert jobs.running_here() == 1
    process = next(iter(jobs._running.values())).process
    login(client, staff["analyst"])
    assert client.post(f"/estimates/jobs/{job.pk}/cancel").status_code == 302
    jobs.job_pass({})
    assert not jobs.running_here() and not process.is_alive()
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED


def test_the_check_in_pass_runs_while_a_job_is_running(staff, orgs):
    from jikimi.checkins import services as checkins
    from jikimi.checkins.models import Phase
    from jikimi.core.monitor import run_passes
    from jikimi.people import services as people

    build(orgs[0], MY3)
    cw = staff["caseworker"]
    person = people.create_person(cw, name="김철수")
    people.record_consent(cw, person, purpose="checkins", granted=True, method="written")
    enrolled = checkins.enrol(cw, person, interval_hours=24, channels=["web"])
    checkins.set_pins(enrolled.setup_token, "2580", "1397")
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="lcmcr")
    run_passes({})  # the job starts; its child computes
    assert jobs.running_here() == 1
    # The check-in falls due while the job is still running: the next loop handles it.
    from jikimi.checkins.models import Enrolment

    due = timezone.now() - timedelta(minutes=1)
    Enrolment.objects.filter(pk=enrolled.enrolment.pk).update(next_due_at=due, next_action_at=due)
    totals = run_passes({})
    job.refresh_from_db()
    assert job.state == JobState.RUNNING and jobs.running_here() == 1
    assert totals["processed"] == 1
    enrolment = Enrolment.objects.get(pk=enrolled.enrolment.pk)
    assert enrolment.phase == Phase.GRACE


def test_the_api_queues_a_job_and_answers_its_result_when_done(api_client, api_token, staff, orgs):
    build(orgs[0], MY3)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    body = {"lists": ["A", "B", "C"], "method": "bma", "level": 0.9}
    response = api_client.post("/api/estimates/jobs/", body, format="json")
    assert response.status_code == 202, response.content
    job = EstimateJob.objects.get()
    assert response["Location"] == f"/api/estimates/jobs/{job.pk}/"
    assert response.json()["state"] == "queued" and response.json()["result"] is None
    run_jobs()
    done = api_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").json()
    assert done["state"] == "done" and done["progress"] == 1.0 and done["error"] is None
    sync = api_client.post("/api/estimates/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert done["result"] == sync.json()
    assert done["page"] == f"/estimates/jobs/{job.pk}/"


def test_the_api_refuses_bad_input_with_a_field_error_and_queues_nothing(
    api_client, api_token, staff, orgs
):
    build(orgs[0], MY3)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    bad = {"lists": ["A", "B", "C"], "method": "lcmcr", "interval": "bootstrap"}
    response = api_client.post("/api/estimates/jobs/", bad, format="json")
    assert response.status_code == 400 and "interval" in response.json()
    unknown = api_client.post("/api/estimates/jobs/", {"lists": ["A", "Q"]}, format="json")
    assert unknown.status_code == 400 and "lists" in unknown.json()
    assert api_client.get("/api/estimates/jobs/not-a-uuid/").status_code == 404
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['caseworker'])}")
    assert api_client.post("/api/estimates/jobs/", bad, format="json").status_code == 403
    assert not EstimateJob.objects.exists()


def test_the_jobs_are_in_the_openapi_schema(api_client, api_token, staff):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff['analyst'])}")
    paths = api_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "202" in paths["/api/estimates/jobs/"]["post"]["responses"]
    job = paths["/api/estimates/jobs/{job_id}/"]["get"]["responses"]
    assert {"200", "404"} <= set(job)


@pytest.mark.parametrize(
    ("method", "opts", "stage"),
    [("stepwise", {"bootstrap": 60}, "bootstrap"), ("bma", {}, "grid")],
)
def test_the_progress_callback_changes_no_number(method, opts, stage):
    from jikimi.estimates.services import estimate_population
    from jikimi.estimates.tables import read_capture_csv

    from .mse_db import table_path

    table = read_capture_csv(table_path(MY3))
    heard: list[tuple[float, str]] = []
    with_progress = estimate_population(
        table, method=method, seed=3, progress=lambda f, s: heard.append((f, s)), **opts
    )
    without = estimate_population(table, method=method, seed=3, **opts)
    assert with_progress.to_json_dict() == without.to_json_dict()
    assert stage in {s for _f, s in heard}
    fractions = [f for f, _s in heard]
    assert fractions == sorted(fractions) and all(0 <= f < 1 for f in fractions)


def test_a_child_that_dies_fails_the_job_with_its_reason(staff, orgs):
    import os
    import signal

    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], lists=["A", "B", "C"], method="lcmcr")
    jobs.job_pass({})
    process = next(iter(jobs._running.values())).process
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=10)
    jobs.job_pass({})
    job.refresh_from_db()
    assert job.state == JobState.FAILED and not jobs.running_here()
    with translation.override("en"):
        assert "stopped unexpectedly (exit code -9)" in jobs.error_text(job)[1]


def test_monitor_once_from_cron_waits_for_the_job_it_started_and_leaves_it_done(staff, orgs, cli):
    """One `--once` run: the job's child would die with the process; the run waits for it."""
    build(orgs[0], MY3)
    job = jobs.create_job(staff["analyst"], **{**BOOT, "level": 0.9})  # not cached
    result = cli("monitor", "--once", "--no-deliver")
    assert result.returncode == 0, result.stderr
    job.refresh_from_db()
    assert job.state == JobState.DONE, job.error
    assert job.progress == 1.0 and job.result is not None and not jobs.running_here()
    assert "estimate jobs finished 1, failed 0" in result.stdout
