"""`POST /api/incidents/acts/export/`: the act list (the query parameters are the act list's
filters) as CSV or XLSX in the incident CSV's columns (incidents.export does the work).

The body holds the format and the user's password again (the API's re-authentication, as
evidence downloads): a stolen token alone exports nothing.
"""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from jikimi.accounts import services as accounts

from . import export
from .api import ActFilterSerializer


class ExportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(export.FORMATS), default="csv")
    password = serializers.CharField(
        trim_whitespace=False, help_text="your password again (re-authentication)"
    )


class ActsExportView(APIView):
    @extend_schema(
        parameters=[ActFilterSerializer],
        request=ExportRequestSerializer,
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, export.MEDIA_TYPES["xlsx"]): OpenApiTypes.BINARY,
        },
        operation_id="incidents_acts_export",
    )
    def post(self, request):
        filters = ActFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        accounts.require_password_again(
            request.user,
            body.validated_data["password"],
            refusal=gettext("Password: give your password again to export incidents."),
        )
        found = export.export_acts(
            request.user,
            filters.validated_data,
            format=body.validated_data["format"],
            reauthenticated=True,
        )
        return export.response(found)
