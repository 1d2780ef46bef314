"""The analyst page (/estimates/) and the capture-history CSV. Thin: inapp.py does the work.

The form is a GET form: its values (list names, method, level) are no personal data, and a
result can be bookmarked. Each run and each download is written to the audit log there.
"""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jikimi.accounts.services import recently_authenticated, suppression_threshold
from jikimi.accounts.views import reauth_redirect
from jikimi.lib.spreadsheet import neutralise_formula  # a list name is free text
from jikimi.lib.suppression import is_small, suppressed

from . import inapp
from .charts import upset_chart
from .forms import EstimateForm
from .presentation import conditional_note, describe, method_label


def _available(request: HttpRequest) -> list[tuple[str, int]]:
    return inapp.available_lists(request.user)  # AccessDenied → 403 (ServiceErrorMiddleware)


def _attach_errors(form: EstimateForm, exc: inapp.EstimateRequestError) -> None:
    for name, message in exc.errors.items():
        form.add_error(name if name in form.fields else None, message)


@login_required
@require_GET
def estimate_page(request: HttpRequest) -> HttpResponse:
    available = _available(request)
    submitted = "lists" in request.GET or "method" in request.GET
    data = None
    if submitted:
        data = request.GET.copy()  # show the defaults that were used, not the first option
        data.setdefault("method", "stepwise")
        data.setdefault("level", "0.95")
    form = EstimateForm(data, available=available)
    context = {"form": form, "available": available, "result": None}
    if submitted and form.is_valid():
        data = form.cleaned_data
        try:
            result = inapp.run_estimate(
                request.user,
                lists=data["lists"],
                method=data["method"],
                level=float(data["level"]),
                stratify_by=data["stratify_by"] or None,
                seed=data["seed"],
                interval=data["interval"],
            )
        except inapp.EstimateRequestError as exc:
            _attach_errors(form, exc)
        else:
            table = result.histories.total
            below = suppression_threshold(request.user.organisation_id)
            context.update(
                result=result,
                chart=upset_chart(table, below),
                rows=[
                    {
                        "marks": [bool(x) for x in pattern],
                        "count": suppressed(int(count), below),
                    }
                    for pattern, count in zip(table.patterns, table.counts, strict=True)
                ],
                any_suppressed=any(is_small(int(c), below) for c in table.counts),
                suppress_below=below,
                csv_query=request.GET.urlencode(),
                warnings=[*result.histories.warnings, *result.total.alerts],
                notes=result.total.notes,
                described=describe(result.total.estimate) if result.total.estimate else None,
                method_label=method_label(result.method),
                conditional=conditional_note(result.method),
                strata=[(s, describe(s.estimate) if s.estimate else None) for s in result.strata],
            )
    status = 400 if submitted and form.errors else 200
    return render(request, "estimates/index.html", context, status=status)


@login_required
@require_GET
def table_csv(request: HttpRequest) -> HttpResponse:
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
            "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
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
