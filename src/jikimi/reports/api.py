"""The reports API (mounted under /api/ by jikimi.api.urls): the UN draft of a case, at the
path it always had under the case. Same access rules as the page (the services check)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from jikimi.core.errors import InvalidInput

from . import drafts


class UnDraftView(APIView):
    """A UN submission draft of the case as a file, for staff to review and send themselves.
    The place, date and perpetrators come from the case's linked incident acts this user may
    see; the identity is filled only if the consent `un_submission` is recorded; every
    download is audited (with or without identity)."""

    def perform_content_negotiation(self, request, force=False):
        # The answer is a file, not JSON: any Accept gets it (errors stay JSON).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[
            OpenApiParameter("body", str, enum=list(drafts.BODIES), required=True),
            OpenApiParameter("language", str, enum=list(drafts.LANGUAGES), default="en"),
            OpenApiParameter("file_format", str, enum=list(drafts.FORMATS), default="pdf"),
        ],
        responses={
            (200, content_type): OpenApiTypes.BINARY for content_type in drafts.FORMATS.values()
        },
        operation_id="cases_un_draft",
    )
    def get(self, request, case_code: str):
        params = request.query_params
        try:
            out = drafts.generate(
                request.user,
                case_code,
                body=params.get("body", ""),
                language=params.get("language", "en"),
                fmt=params.get("file_format", "pdf"),
            )
        except InvalidInput as exc:
            # Named as this endpoint names it (`format` is DRF's own query parameter).
            errors = dict(exc.errors)
            if "format" in errors:
                errors["file_format"] = errors.pop("format")
            raise InvalidInput(errors) from None
        response = HttpResponse(out.content, content_type=out.content_type)
        response["Content-Disposition"] = f'attachment; filename="{out.filename}"'
        response["X-Identity-Disclosed"] = "true" if out.draft.identity_disclosed else "false"
        return response
