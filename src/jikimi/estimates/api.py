"""REST API for estimates: ``GET`` (query parameters) or ``POST`` (JSON) ``/api/estimates/``.

Returns the Estimate JSON contract of DESIGN §8 for the total, plus ``stratify_by``,
``strata`` (one contract object per stratum, with ``stratum``; ``reason`` instead of a number
when a stratum has too few people or no finite estimate), ``individuals`` and
``records_linked``. Same access rules as the page: analysts, supervisors and admins, their
organisation's data and persons shared with it. Bad input: 400 with a field error.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import inapp, jobs
from .models import JobState
from .services import METHODS


class EstimateRequestSerializer(serializers.Serializer):
    lists = serializers.ListField(
        child=serializers.CharField(max_length=64), min_length=2, max_length=12
    )
    method = serializers.ChoiceField(choices=METHODS, default="stepwise")
    level = serializers.FloatField(min_value=0.5, max_value=0.999, default=0.95)
    stratify_by = serializers.ChoiceField(
        choices=inapp.STRATIFY_CHOICES, required=False, allow_null=True, allow_blank=True
    )
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    interval = serializers.ChoiceField(
        choices=inapp.INTERVALS,
        default="model",
        help_text="stepwise: 'model' (Wald, conditional on the chosen model) or 'bootstrap' "
        f"(BCa, {inapp.BOOTSTRAP_REPLICATES} replicates, the model chosen again on each)",
    )


class StratumSerializer(serializers.Serializer):
    stratum = serializers.CharField(required=False)
    method = serializers.CharField()
    lists = serializers.ListField(child=serializers.CharField())
    observed = serializers.IntegerField()
    estimate = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(child=serializers.FloatField(allow_null=True))
    level = serializers.FloatField()
    model = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    reason = serializers.CharField(required=False)


class EstimateResponseSerializer(StratumSerializer):
    stratify_by = serializers.CharField(allow_null=True)
    strata = StratumSerializer(many=True)
    individuals = serializers.IntegerField()
    records_linked = serializers.BooleanField()


class EstimateView(APIView):
    def _run(self, request, data) -> Response:
        inapp.require_estimates(request.user)  # AccessDenied → 403 before the input is read
        ser = EstimateRequestSerializer(data=data)
        ser.is_valid(raise_exception=True)
        values = ser.validated_data
        # EstimateRequestError (400) and AccessDenied (403): jikimi.api.errors answers them.
        result = inapp.run_estimate(
            request.user,
            lists=values["lists"],
            method=values["method"],
            level=values["level"],
            stratify_by=values.get("stratify_by") or None,
            seed=values.get("seed"),
            interval=values["interval"],
        )
        return Response(result.to_json_dict())

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lists", str, many=True, description="two or more sources (repeat, or commas)"
            ),
            OpenApiParameter("method", str, enum=list(METHODS)),
            OpenApiParameter("level", float),
            OpenApiParameter("stratify_by", str, enum=list(inapp.STRATIFY_CHOICES)),
            OpenApiParameter("seed", int),
            OpenApiParameter("interval", str, enum=list(inapp.INTERVALS)),
        ],
        responses=EstimateResponseSerializer,
    )
    def get(self, request):
        params = request.query_params
        lists = [part.strip() for v in params.getlist("lists") for part in v.split(",")]
        data = {"lists": [x for x in lists if x]}
        for key in ("method", "level", "stratify_by", "seed", "interval"):
            if key in params:
                data[key] = params[key]
        return self._run(request, data)

    @extend_schema(request=EstimateRequestSerializer, responses=EstimateResponseSerializer)
    def post(self, request):
        return self._run(request, request.data)


# --- Background jobs: POST /api/estimates/jobs/ → 202 + Location; GET the job --------------


class JobErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class EstimateJobSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField(help_text="this job in the API")
    page = serializers.CharField(help_text="this job's page")
    state = serializers.ChoiceField(choices=[s.value for s in JobState])
    progress = serializers.FloatField(help_text="0 to 1")
    stage = serializers.CharField(help_text="what the computation is doing, translated")
    params = EstimateRequestSerializer()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = EstimateResponseSerializer(
        allow_null=True, help_text="when done: the same answer as GET /api/estimates/"
    )
    error = JobErrorSerializer(allow_null=True, help_text="when failed: why")


def _job_data(request, job) -> dict:
    result = jobs.job_estimate(job)
    error = None
    if job.state == JobState.FAILED:
        field_name, message = jobs.error_text(job)
        error = {"field": field_name, "message": message}
    return {
        "id": str(job.pk),
        "url": reverse("estimates-job-api", args=[job.pk]),
        "page": reverse("estimates:job", args=[job.pk]),
        "state": job.state,
        "progress": round(job.progress, 3),
        "stage": jobs.stage_label(job.stage),
        "params": job.params,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "result": None if result is None else result.to_json_dict(),
        "error": error,
    }


class EstimateJobsView(APIView):
    @extend_schema(
        request=EstimateRequestSerializer,
        responses={202: EstimateJobSerializer},
        description="Queue a long estimate; the monitor runs it. Answers 202 with the job "
        "(Location: the job's address); poll it until `state` is done or failed.",
    )
    def post(self, request):
        inapp.require_estimates(request.user)
        ser = EstimateRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        values = ser.validated_data
        job = jobs.create_job(
            request.user,
            lists=values["lists"],
            method=values["method"],
            level=values["level"],
            stratify_by=values.get("stratify_by") or None,
            seed=values.get("seed"),
            interval=values["interval"],
        )
        data = _job_data(request, job)
        return Response(data, status=202, headers={"Location": data["url"]})


class EstimateJobView(APIView):
    @extend_schema(responses=EstimateJobSerializer)
    def get(self, request, job_id):
        return Response(_job_data(request, jobs.get_job(request.user, job_id)))
