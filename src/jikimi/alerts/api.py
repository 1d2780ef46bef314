"""REST API for the alert board (DRF). Thin: every call goes through services.py, which
checks access and writes the audit log. Mounted at /api/checkins/alerts/ (api_urls.py),
where the board's API has always been."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import Alert


class AlertSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField()
    kind_label = serializers.CharField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "kind_label",
            "priority",
            "state",
            "is_drill",
            "person",
            "source_app",
            "source_ref",
            "created_at",
            "escalation_stopped_at",
            "stopped_by",
            "acknowledged_at",
            "acknowledged_by",
            "closed_at",
            "closed_by",
            "close_reason",
            "detail",
        ]

    def get_person(self, alert: Alert) -> str | None:
        return alert.person.code if alert.person is not None else None


class CloseInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class AlertList(APIView):
    serializer_class = AlertSerializer  # for the OpenAPI schema

    @extend_schema(
        parameters=[
            OpenApiParameter("all", str, enum=["1"], description="1: the closed alerts too")
        ],
        responses=AlertSerializer(many=True),
    )
    def get(self, request):
        alerts = services.alert_board(
            request.user, include_closed=request.query_params.get("all") == "1"
        )
        return Response(AlertSerializer(alerts, many=True).data)


class AlertDetail(APIView):
    serializer_class = AlertSerializer  # for the OpenAPI schema

    def get(self, request, alert_id: int):
        return Response(AlertSerializer(services.get_alert(request.user, alert_id)).data)


class AlertAcknowledge(APIView):
    serializer_class = AlertSerializer  # for the OpenAPI schema

    @extend_schema(request=None, responses=AlertSerializer)
    def post(self, request, alert_id: int):
        alert = services.acknowledge(request.user, services.get_alert(request.user, alert_id))
        return Response(AlertSerializer(alert).data)


class AlertClose(APIView):
    serializer_class = AlertSerializer  # for the OpenAPI schema

    @extend_schema(request=CloseInput, responses=AlertSerializer)
    def post(self, request, alert_id: int):
        alert = services.close(
            request.user,
            services.get_alert(request.user, alert_id),
            reason=str(request.data.get("reason", "")),
        )
        return Response(AlertSerializer(alert).data)
