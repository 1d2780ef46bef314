"""The REST API of return determinations (mounted under /api/incidents/ by api_urls).

Same access as the pages, because incidents.determinations checks: another organisation's
person, or one who is not a returnee, is 404; a role that may not record findings 403 on
POST; bad input 400 with messages by field (``links[0].stance``).
"""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts.services import AccessDenied
from jikimi.core.paging import offset_limit

from . import determinations as service
from .api import _serializer
from .models import Confidence, Stance


class ReturneeRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    determination = serializers.CharField()
    confidence = serializers.CharField()
    reviewer = serializers.CharField()
    date = serializers.DateTimeField(allow_null=True)
    revisions = serializers.IntegerField()


class ReturneePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = ReturneeRowSerializer(many=True)


class DeterminationLinkSerializer(serializers.Serializer):
    reading = serializers.CharField()
    stance = serializers.CharField()
    act = serializers.CharField(allow_null=True)
    information = serializers.IntegerField(allow_null=True)


class RevisionSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    current = serializers.BooleanField()
    determination = serializers.CharField()
    confidence = serializers.CharField()
    rationale = serializers.CharField(allow_null=True)
    reviewer = serializers.CharField()
    created_at = serializers.DateTimeField()
    links = DeterminationLinkSerializer(many=True)


InformationItemSerializer = _serializer(
    "InformationItemSerializer",
    id=serializers.IntegerField(),
    source_kind=serializers.CharField(),
    source=serializers.CharField(allow_null=True),
    reliability=serializers.CharField(),
    credibility=serializers.CharField(),
    whole_event=serializers.BooleanField(),
)


class ActItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    event = serializers.CharField()
    act_type = serializers.CharField()
    date = serializers.CharField()
    place = serializers.CharField()
    information = InformationItemSerializer(many=True)


class DeterminationPageSerializer(serializers.Serializer):
    person = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    acts = ActItemSerializer(many=True)
    current = RevisionSerializer(allow_null=True)
    history = RevisionSerializer(many=True)


class DeterminationLinkInputSerializer(serializers.Serializer):
    reading = serializers.CharField(max_length=64)
    stance = serializers.ChoiceField(choices=Stance.values)
    act = serializers.CharField(max_length=64, required=False, allow_blank=True)
    information = serializers.IntegerField(required=False, allow_null=True)


class RevisionInputSerializer(serializers.Serializer):
    determination = serializers.CharField(max_length=64)
    confidence = serializers.ChoiceField(choices=Confidence.values)
    rationale = serializers.CharField(max_length=service.RATIONALE_MAX)
    links = DeterminationLinkInputSerializer(many=True, required=False)


class ReturneesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("determination", OpenApiTypes.STR),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT),
        ],
        responses=ReturneePageSerializer,
        operation_id="incidents_returnees_list",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        rows, total = service.list_returnees(
            request.user,
            determination=request.query_params.get("determination", ""),
            offset=offset,
            limit=limit,
        )
        return Response({"count": total, "results": ReturneeRowSerializer(rows, many=True).data})


class ReturneeView(APIView):
    @extend_schema(responses=DeterminationPageSerializer, operation_id="incidents_returnee")
    def get(self, request, person_code: str):
        person = service.get_returnee(request.user, person_code)
        page = service.determination_page(request.user, person)
        return Response(DeterminationPageSerializer(page).data)

    @extend_schema(
        request=RevisionInputSerializer,
        responses={201: DeterminationPageSerializer},
        operation_id="incidents_returnee_revise",
    )
    def post(self, request, person_code: str):
        person = service.get_returnee(request.user, person_code)
        if not service.can_record(request.user):  # 403 before the body is judged
            raise AccessDenied(
                gettext(
                    "Only case workers, supervisors and administrators"
                    " record return determinations."
                )
            )
        ser = RevisionInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        service.record_determination(  # InvalidInput: 400 by field
            request.user,
            person,
            determination=data["determination"],
            confidence=data["confidence"],
            rationale=data["rationale"],
            links=data.get("links", []),
        )
        page = service.determination_page(request.user, person)
        return Response(DeterminationPageSerializer(page).data, status=status.HTTP_201_CREATED)
