"""The evidence API: `/api/incidents/events/<code>/evidence/` (incidents.evidence does the work).

- GET the list (each file gets a custody "view"), POST a file (multipart: `file`,
  `description`, `act`);
- GET `<id>/` one file's metadata, GET `<id>/custody/` its custody log;
- POST `<id>/download/` with `{"reason": …, "password": …}`: the API's re-authentication is
  the user's password in the body, checked by accounts under the login's lock-out (as the
  check-in policies' API does), so a stolen token alone does not give out evidence. The
  answer is the file (application/octet-stream, attachment, nosniff); 409 when the stored
  file no longer matches its SHA-256.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts import services as accounts

from . import evidence, services
from .views_evidence import attachment_response


class EvidenceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.CharField(help_text="the event's code")
    act = serializers.CharField(allow_null=True, help_text="the act's id, or null")
    file_name = serializers.CharField()
    media_type = serializers.CharField()
    size = serializers.IntegerField(help_text="bytes")
    sha256 = serializers.CharField(help_text="hex SHA-256 of the file, taken at intake")
    description = serializers.CharField(allow_blank=True)
    uploaded_by = serializers.CharField(allow_null=True)
    uploaded_at = serializers.DateTimeField()
    withdrawn_at = serializers.DateTimeField(
        allow_null=True, help_text="when the file was withdrawn (its bytes destroyed), or null"
    )
    withdrawn_by = serializers.CharField(allow_null=True)
    withdrawn_reason = serializers.CharField(allow_blank=True)
    downloadable = serializers.BooleanField(
        help_text="you may download it: not withdrawn, a role that sees identities, and, for "
        "an event shared with your organisation, a file of an act whose victim is shared "
        "with you too"
    )


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=evidence.DESCRIPTION_MAX
    )
    act = serializers.CharField(
        required=False, allow_blank=True, help_text="the id of one of the event's acts"
    )


class CustodyEntrySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["upload", "view", "download", "verify", "withdraw"])
    user = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    detail = serializers.DictField()


class DownloadSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=evidence.REASON_MAX)
    password = serializers.CharField(
        trim_whitespace=False, help_text="your password again (re-authentication)"
    )


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=evidence.REASON_MAX, help_text="why, e.g. the source withdrew consent"
    )
    password = serializers.CharField(
        trim_whitespace=False, help_text="your password again (re-authentication)"
    )


_GONE = OpenApiResponse(
    response={
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    description="the file was withdrawn: its bytes and key are destroyed",
)

_TAMPERED = OpenApiResponse(
    response={
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    description="the stored file no longer matches its SHA-256: not sent",
)


class EvidenceListView(APIView):
    @extend_schema(responses=EvidenceSerializer(many=True), operation_id="incidents_evidence_list")
    def get(self, request, event_code: str):
        _event, rows = evidence.list_evidence(request.user, event_code)
        return Response(EvidenceSerializer(rows, many=True).data)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer},
        operation_id="incidents_evidence_create",
    )
    def post(self, request, event_code: str):
        # 404 first, then 403 (a shared event is read-only; a role that does not record),
        # before the body is judged.
        services.get_event(request.user, event_code, purpose="attach")
        services.require_recorder(request.user)
        ser = EvidenceUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        item = evidence.attach(
            request.user,
            event_code,
            ser.validated_data["file"],
            act=ser.validated_data.get("act") or None,
            description=ser.validated_data.get("description", ""),
        )
        row = evidence.evidence_detail(request.user, event_code, item.pk)
        return Response(EvidenceSerializer(row).data, status=status.HTTP_201_CREATED)


class EvidenceView(APIView):
    @extend_schema(responses=EvidenceSerializer, operation_id="incidents_evidence_retrieve")
    def get(self, request, event_code: str, evidence_id: str):
        row = evidence.evidence_detail(request.user, event_code, evidence_id)
        return Response(EvidenceSerializer(row).data)


class EvidenceCustodyView(APIView):
    @extend_schema(
        responses=CustodyEntrySerializer(many=True), operation_id="incidents_evidence_custody"
    )
    def get(self, request, event_code: str, evidence_id: str):
        _row, entries = evidence.custody_log(request.user, event_code, evidence_id)
        return Response(CustodyEntrySerializer(entries, many=True).data)


class EvidenceDownloadView(APIView):
    @extend_schema(
        request=DownloadSerializer,
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            409: _TAMPERED,
            410: _GONE,
        },
        operation_id="incidents_evidence_download",
    )
    def post(self, request, event_code: str, evidence_id: str):
        item = evidence.get_evidence(request.user, event_code, evidence_id)  # 404 first
        evidence.require_downloadable_through_grant(request.user, item)  # 403 for some shared
        ser = DownloadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        accounts.require_password_again(
            request.user,
            ser.validated_data["password"],
            refusal=gettext("Password: give your password again to download evidence."),
        )
        try:
            item, chunks = evidence.download(
                request.user,
                event_code,
                evidence_id,
                reason=ser.validated_data["reason"],
                reauthenticated=True,
            )
        except evidence.EvidenceTampered:
            return Response(
                {"detail": _("The stored file no longer matches its SHA-256; it was not sent.")},
                status=status.HTTP_409_CONFLICT,
            )
        except evidence.EvidenceWithdrawn:
            return _gone()
        return attachment_response(item, chunks)


def _gone() -> Response:
    return Response(
        {"detail": _("This file was withdrawn: its stored copy and key were destroyed.")},
        status=status.HTTP_410_GONE,
    )


class EvidenceWithdrawView(APIView):
    @extend_schema(
        request=WithdrawSerializer,
        responses={200: EvidenceSerializer, 410: _GONE},
        operation_id="incidents_evidence_withdraw",
    )
    def post(self, request, event_code: str, evidence_id: str):
        """Withdraw a file (e.g. its source withdrew consent): the stored bytes and key are
        destroyed, the record stays as a tombstone with the reason, the custody log gets a
        "withdraw" entry. Needs the password again in the body."""
        # 404 first, then 403 (read-only through a grant; a role that does not record)
        evidence.get_evidence(request.user, event_code, evidence_id, purpose="withdraw")
        services.require_recorder(request.user)
        ser = WithdrawSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        accounts.require_password_again(
            request.user,
            ser.validated_data["password"],
            refusal=gettext("Password: give your password again to withdraw evidence."),
        )
        try:
            evidence.withdraw(
                request.user,
                event_code,
                evidence_id,
                reason=ser.validated_data["reason"],
                reauthenticated=True,
            )
        except evidence.EvidenceWithdrawn:
            return _gone()
        row = evidence.evidence_detail(request.user, event_code, evidence_id)
        return Response(EvidenceSerializer(row).data)
