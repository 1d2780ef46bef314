"""The analyst page (/estimates/) and the capture-history CSV. Thin: inapp.py does the work.

The form posts: a quick estimate redirects to its GET address (its values, list names, method
and level, are no personal data, and the result can be bookmarked, as before); a long one
(the bootstrap, BMA, LCMCR, unless every table's result is cached) becomes a background job
(``jobs``) and the answer is its page, so no request waits for the numbers. Each run and each
download is written to the audit log.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jikimi.accounts.http import StaffRequest
from jikimi.accounts.services import recently_authenticated, suppression_threshold
from jikimi.accounts.views import reauth_redirect
from jikimi.lib.spreadsheet import neutralise_formula  # a list name is free text
from jikimi.lib.suppression import is_small, suppressed

from . import inapp, jobs
from .charts import upset_chart
from .forms import EstimateForm
from .models import JobState
from .presentation import conditional_note, describe, method_label


def _available(request: StaffRequest) -> list[tuple[str, int]]:
    return inapp.available_lists(request.user)  # AccessDenied → 403 (ServiceErrorMiddleware)


def _attach_errors(form: EstimateForm, exc: inapp.EstimateRequestError) -> None:
    for name, message in exc.errors.items():
        form.add_error(name if name in form.fields else None, str(message))


def result_context(request: StaffRequest, result: inapp.InAppEstimate, csv_query: str) -> dict:
    """What the page shows of a result (the page's inline run and a finished job alike)."""
    table = result.histories.total
    below = suppression_threshold(request.user.org_id)
    return {
        "result": result,
        "chart": upset_chart(table, below),
        "rows": [
            {"marks": [bool(x) for x in pattern], "count": suppressed(int(count), below)}
            for pattern, count in zip(table.patterns, table.counts, strict=True)
        ],
        "any_suppressed": any(is_small(int(c), below) for c in table.counts),
        "suppress_below": below,
        "csv_query": csv_query,
        "warnings": [*result.histories.warnings, *result.total.alerts],
        "notes": result.total.notes,
        "described": describe(result.total.estimate) if result.total.estimate else None,
        "method_label": method_label(result.method),
        "conditional": conditional_note(result.method),
        "strata": [(s, describe(s.estimate) if s.estimate else None) for s in result.strata],
    }


def _request_values(data: dict) -> dict:
    return {
        "lists": data["lists"],
        "method": data["method"],
        "level": float(data["level"]),
        "stratify_by": data["stratify_by"] or None,
        "seed": data["seed"],
        "interval": data["interval"],
    }


def _form_data(source) -> object:
    data = source.copy()  # show the defaults that were used, not the first option
    data.setdefault("method", "stepwise")
    data.setdefault("level", "0.95")
    return data


@login_required
@require_http_methods(["GET", "POST"])
def estimate_page(request: StaffRequest) -> HttpResponse:
    """GET: the form, and a quick result inline (a bookmark); POST: a long estimate becomes
    a background job (redirect to its page), a quick one redirects to its inline GET."""
    available = _available(request)
    source = request.POST if request.method == "POST" else request.GET
    submitted = "lists" in source or "method" in source
    form = EstimateForm(_form_data(source) if submitted else None, available=available)
    context: dict = {"form": form, "available": available, "result": None}
    context["jobs"] = _job_rows(jobs.recent_jobs(request.user, limit=5))
    if submitted and form.is_valid():
        values = _request_values(form.cleaned_data)
        query = _query(form.cleaned_data)
        try:
            quick = jobs.is_quick(request.user, values)
            if request.method == "POST":
                if quick:
                    return redirect(f"{reverse('estimates:index')}?{query}")
                job = jobs.create_job(request.user, **values)
                return redirect("estimates:job", job_id=job.pk)
            if quick:
                result = inapp.run_estimate(request.user, **values)
                context.update(result_context(request, result, request.GET.urlencode()))
            else:
                context["needs_job"] = True
        except inapp.EstimateRequestError as exc:
            _attach_errors(form, exc)
    status = 400 if submitted and form.errors else 200
    return render(request, "estimates/index.html", context, status=status)


def _query(data: dict) -> str:
    query = QueryDict(mutable=True)
    query.setlist("lists", list(data["lists"]))
    for key in ("method", "level", "stratify_by", "interval"):
        if data.get(key):
            query[key] = str(data[key])
    if data.get("seed") is not None:
        query["seed"] = str(data["seed"])
    return query.urlencode()


def _job_rows(recent) -> list[tuple]:
    """(job, its method's name) for the job table."""
    return [(job, method_label(job.params.get("method", ""))) for job in recent]


def _job_context(request: StaffRequest, job) -> dict:
    field_name, error = jobs.error_text(job) if job.state == JobState.FAILED else (None, "")
    return {
        "job": job,
        "stage": jobs.stage_label(job.stage),
        "percent": round(job.progress * 100),
        "error": error,
        "error_field": field_name,
        "method_label": method_label(job.params.get("method", "")),
    }


@login_required
@require_GET
def job_page(request: StaffRequest, job_id) -> HttpResponse:
    """A job's progress while it runs (the fragment below polls), then its result."""
    job = jobs.get_job(request.user, job_id)
    context = _job_context(request, job)
    result = jobs.job_estimate(job)
    if result is not None:
        context.update(result_context(request, result, jobs.query_string(job)))
    return render(request, "estimates/job.html", context)


@login_required
@require_GET
def job_status(request: StaffRequest, job_id) -> HttpResponse:
    """The progress fragment htmx polls; once the job is finished the whole page reloads."""
    job = jobs.get_job(request.user, job_id)
    response = render(request, "estimates/_job_status.html", _job_context(request, job))
    if job.finished:
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def job_cancel(request: StaffRequest, job_id) -> HttpResponse:
    job = jobs.cancel_job(request.user, job_id)
    return redirect("estimates:job", job_id=job.pk)


@login_required
@require_GET
def job_list(request: StaffRequest) -> HttpResponse:
    items = _job_rows(jobs.recent_jobs(request.user))
    return render(request, "estimates/jobs.html", {"items": items})


@login_required
@require_GET
def table_csv(request: StaffRequest) -> HttpResponse:
    """The capture-history table, unsuppressed: internal, for the analyst only.

    The layout is the capture-history CSV of DESIGN §8 (one 0/1 column per list, then
    ``count``), readable by ``jikimi estimate``; a stratified table has a ``stratum`` column
    before ``count``.
    """
    # The role first: nobody is asked for a password only to be refused after.
    inapp.require_estimates(request.user)
    # An export is a sensitive action: it needs the password again (DESIGN §3).
    if not recently_authenticated(request):
        return reauth_redirect(request.get_full_path())
    form = EstimateForm(request.GET, available=_available(request))
    if not form.is_valid():
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    try:
        histories = inapp.capture_histories(
            request.user,
            lists=form.cleaned_data["lists"],
            stratify_by=form.cleaned_data["stratify_by"] or None,
        )
    except inapp.EstimateRequestError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    inapp.record_export(request.user, histories)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        'attachment; filename="capture-histories-INTERNAL-not-for-publication.csv"'
    )
    response["X-Jikimi-Classification"] = "internal"
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response, lineterminator="\n")
    stratified = histories.stratify_by is not None
    writer.writerow(
        [neutralise_formula(n) for n in histories.lists]
        + (["stratum"] if stratified else [])
        + ["count"]
    )
    for row in inapp.table_rows(histories):
        if row["count"] == 0:
            continue
        writer.writerow(
            row["pattern"]
            + ([neutralise_formula(row["stratum"])] if stratified else [])
            + [row["count"]]
        )
    return response
