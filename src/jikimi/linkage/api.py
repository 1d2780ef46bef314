"""The REST API for the linkage review queue: list pending pairs, confirm, reject, unlink.

The same services as the pages, so the same access rules: a pair or link with a person the
user may not see is 404 (jikimi.api.errors maps NotFound), a role that may not decide 403.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.core.paging import offset_limit

from . import services
from .models import PersonLink, ReviewItem


class PersonSideSerializer(serializers.Serializer):
    code = serializers.CharField()
    organisation = serializers.CharField(source="organisation.slug")
    birth_year = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    province = serializers.CharField()
    status = serializers.CharField()


class ReviewItemSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    score = serializers.FloatField()
    levels = serializers.DictField(child=serializers.CharField())
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    # A person of the pair is missing or detained or has an open check-in alert: first.
    urgent = serializers.BooleanField(default=False)
    person_a = PersonSideSerializer()
    person_b = PersonSideSerializer()


class ReviewPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = ReviewItemSerializer(many=True)


class LinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    person_a = serializers.CharField(source="person_a.code")
    person_b = serializers.CharField(source="person_b.code")
    method = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    unlinked_at = serializers.DateTimeField(allow_null=True)


class ConfirmSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class UnlinkSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class ReviewQueueView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("offset", int), OpenApiParameter("limit", int)],
        responses=ReviewPageSerializer,
    )
    def get(self, request):
        """Pending pairs both of whose people you can see: urgent ones first (a person who
        is missing or detained or has an open check-in alert), then highest score. No names."""
        offset, limit = offset_limit(request.query_params)
        items, total = services.review_queue(request.user, offset=offset, limit=limit)
        return Response({"count": total, "results": ReviewItemSerializer(items, many=True).data})


class ReviewConfirmView(APIView):
    @extend_schema(request=ConfirmSerializer, responses={201: LinkSerializer})
    def post(self, request, item_id):
        """Same person: create a reversible link by you."""
        item: ReviewItem = services.get_review_item(request.user, item_id)
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = services.confirm(request.user, item, reason=body.validated_data.get("reason", ""))
        return Response(LinkSerializer(link).data, status=201)


class ReviewRejectView(APIView):
    @extend_schema(request=None, responses=ReviewItemSerializer)
    def post(self, request, item_id):
        """Different people: the pair is never proposed again."""
        item = services.get_review_item(request.user, item_id)
        item = services.reject(request.user, item)
        return Response(ReviewItemSerializer(item).data)


class UnlinkView(APIView):
    @extend_schema(request=UnlinkSerializer, responses=LinkSerializer)
    def post(self, request, link_id):
        """Undo a link, saying why; it is kept as history and not redone by the model."""
        link: PersonLink = services.get_link(request.user, link_id)
        body = UnlinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        link = services.unlink(request.user, link, reason=body.validated_data["reason"])
        return Response(LinkSerializer(link).data)
