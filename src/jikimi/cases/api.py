"""The REST API over the cases services (mounted at /api/cases/ by jikimi.api.urls).

Same access rules as the pages because the services check: another organisation's case is
404 unless it accepted a referral of it. A change carrying a stale `version` is 409 with the
current version, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts import services as accounts
from jikimi.core.errors import InvalidInput, NotFound
from jikimi.core.paging import offset_limit

from . import services
from .models import (
    CaseKind,
    CaseStatus,
    Channel,
    ConsentBasis,
    ContactMethod,
    DeadlineKind,
    Priority,
)

# --- Shapes ---------------------------------------------------------------------------------


class CaseRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    person = serializers.CharField(source="person.code")
    kind = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    responsible = serializers.IntegerField(source="responsible_id", allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    last_family_contact_at = serializers.DateTimeField(allow_null=True)


class CasePageSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text="all the cases matching, not only this page (counted up to 10,000)"
    )
    results = CaseRowSerializer(many=True)


class StatusChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()
    by = serializers.IntegerField(source="by_id", allow_null=True)
    at = serializers.DateTimeField()


class DeadlineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.CharField(source="case.code")
    kind = serializers.CharField()
    due_at = serializers.DateTimeField()
    # `label` shadows Field.label (a string) in DRF's stubs; it is the API's field name.
    label = serializers.CharField()  # type: ignore[assignment]
    set_by = serializers.CharField()
    met_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    alert = serializers.IntegerField(source="alert_id", allow_null=True)


class DeadlinePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = DeadlineSerializer(many=True)


class ActionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date = serializers.DateField()
    by = serializers.IntegerField(source="by_id", allow_null=True)
    channel = serializers.CharField()
    description = serializers.CharField()
    outcome = serializers.CharField()
    next_step = serializers.CharField()
    next_step_deadline = serializers.IntegerField(source="next_step_deadline_id", allow_null=True)


class FamilyContactSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    at = serializers.DateTimeField()
    by = serializers.IntegerField(source="by_id", allow_null=True)
    how = serializers.CharField()
    what_was_told = serializers.CharField()
    can_be_told = serializers.CharField(allow_null=True)
    next_contact_deadline = serializers.IntegerField(
        source="next_contact_deadline_id", allow_null=True
    )


class ReferralSerializer(serializers.Serializer):
    code = serializers.CharField()
    case = serializers.CharField(source="case.code")
    from_organisation = serializers.CharField(source="from_organisation.slug")
    to_organisation = serializers.CharField(source="to_organisation.slug")
    consent_basis = serializers.CharField()
    state = serializers.CharField()
    proposed_at = serializers.DateTimeField()
    override_approved_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class CaseDetailSerializer(CaseRowSerializer):
    organisation = serializers.CharField(source="organisation.slug")
    notes = serializers.CharField(allow_null=True)
    source_ref = serializers.CharField()
    updated_at = serializers.DateTimeField()
    history = StatusChangeSerializer(many=True)
    deadlines = DeadlineSerializer(many=True)
    actions = ActionSerializer(many=True)
    family_contacts = FamilyContactSerializer(many=True)
    referrals = ReferralSerializer(many=True)


class CaseCreateSerializer(serializers.Serializer):
    person = serializers.CharField(max_length=16, help_text="the person's code, e.g. P-7KQ2-M9XD")
    kind = serializers.ChoiceField(CaseKind.choices)
    status = serializers.ChoiceField(
        [c for c in CaseStatus.choices if c[0] != CaseStatus.CLOSED],
        default=CaseStatus.REPORTED,
    )
    priority = serializers.ChoiceField(Priority.choices, default=Priority.HIGH)
    responsible = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    source_ref = serializers.CharField(required=False, allow_blank=True, max_length=100)


class CaseUpdateSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=0, max_value=2**31 - 1)
    kind = serializers.ChoiceField(CaseKind.choices, required=False)
    priority = serializers.ChoiceField(Priority.choices, required=False)
    responsible = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    source_ref = serializers.CharField(required=False, allow_blank=True, max_length=100)


class StatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(CaseStatus.choices)
    reason = serializers.CharField(max_length=10_000)
    version = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class StatusResultSerializer(serializers.Serializer):
    case = CaseRowSerializer()
    deadlines = DeadlineSerializer(many=True, help_text="review deadlines the status's rule set")


class DeadlineInputSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(DeadlineKind.choices, default=DeadlineKind.OTHER)
    label = serializers.CharField(  # type: ignore[assignment]  # as in DeadlineSerializer
        required=False, allow_blank=True, max_length=200
    )


class ActionInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(Channel.choices)
    description = serializers.CharField(max_length=10_000)
    date = serializers.DateField(required=False)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=500)
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=500)
    next_step_due = serializers.DateTimeField(required=False, allow_null=True)


class FamilyContactInputSerializer(serializers.Serializer):
    how = serializers.ChoiceField(ContactMethod.choices)
    what_was_told = serializers.CharField(max_length=10_000)
    at = serializers.DateTimeField(required=False)
    can_be_told = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    next_contact_at = serializers.DateTimeField(required=False, allow_null=True)


class ReferralInputSerializer(serializers.Serializer):
    to_organisation = serializers.SlugField(max_length=100)
    consent_basis = serializers.ChoiceField(ConsentBasis.choices)
    consent_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    override_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


CONFLICT = inline_serializer(
    "VersionConflict",
    {"detail": serializers.CharField(), "version": serializers.IntegerField()},
)


class OverviewSerializer(serializers.Serializer):
    by_status = inline_serializer(
        "OverviewStatus",
        {
            "status": serializers.CharField(),
            "total": serializers.IntegerField(),
            "week": serializers.IntegerField(),
            "month": serializers.IntegerField(),
            "older": serializers.IntegerField(),
        },
        many=True,
    )
    count = serializers.IntegerField()
    results = CaseRowSerializer(many=True)


def _input(request: Request, serializer: type[serializers.Serializer]) -> dict[str, Any]:
    ser = serializer(data=request.data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _detail(file: services.CaseFile) -> dict[str, Any]:
    return CaseDetailSerializer(
        {
            **{f: getattr(file.case, f) for f in ("code", "kind", "status", "priority")},
            "person": file.case.person,
            "organisation": file.case.organisation,
            "responsible_id": file.case.responsible_id,
            "version": file.case.version,
            "created_at": file.case.created_at,
            "updated_at": file.case.updated_at,
            "status_changed_at": file.case.status_changed_at,
            "last_family_contact_at": file.case.last_family_contact_at,
            "notes": file.case.notes,
            "source_ref": file.case.source_ref,
            "history": file.history,
            "deadlines": file.deadlines,
            "actions": file.actions,
            "family_contacts": file.contacts,
            "referrals": file.referrals,
        }
    ).data


def _conflict(exc: services.VersionConflict) -> Response:
    return Response({"detail": str(exc), "version": exc.current_version}, status=409)


PAGING = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]
FILTERS = [
    OpenApiParameter("status", str, enum=CaseStatus.values),
    OpenApiParameter("kind", str, enum=CaseKind.values),
]


def _filters(request: Request) -> services.CaseFilter:
    return services.CaseFilter(
        status=request.query_params.get("status", ""), kind=request.query_params.get("kind", "")
    )


# --- Views ----------------------------------------------------------------------------------


class CasesView(APIView):
    @extend_schema(
        parameters=[*FILTERS, *PAGING],
        responses=CasePageSerializer,
        operation_id="cases_mine",
        description="My cases: those the caller is responsible for (open unless a status "
        "is asked for), newest first.",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        page = services.my_cases(
            request.user, offset=offset, limit=limit, filters=_filters(request)
        )
        return Response(
            {"count": page.total, "results": CaseRowSerializer(page.rows, many=True).data}
        )

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseDetailSerializer})
    def post(self, request):
        data = _input(request, CaseCreateSerializer)
        case = services.open_case(request.user, data.pop("person"), **data)
        return Response(_detail(services.case_file(request.user, case.code)), status=201)


class CaseView(APIView):
    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request, case_code: str):
        return Response(_detail(services.case_file(request.user, case_code)))

    @extend_schema(
        request=CaseUpdateSerializer, responses={200: CaseDetailSerializer, 409: CONFLICT}
    )
    def patch(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="edit")  # 404 before the body
        data = _input(request, CaseUpdateSerializer)
        version = data.pop("version")
        try:
            services.update_case(request.user, case_code, expected_version=version, **data)
        except services.VersionConflict as exc:
            return _conflict(exc)
        return Response(_detail(services.case_file(request.user, case_code)))


class StatusView(APIView):
    @extend_schema(
        request=StatusInputSerializer, responses={200: StatusResultSerializer, 409: CONFLICT}
    )
    def post(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="status")
        data = _input(request, StatusInputSerializer)
        try:
            result = services.change_status(
                request.user,
                case_code,
                status=data["status"],
                reason=data["reason"],
                expected_version=data.get("version"),
            )
        except services.VersionConflict as exc:
            return _conflict(exc)
        return Response(StatusResultSerializer(result).data)


class DeadlinesView(APIView):
    @extend_schema(responses=DeadlineSerializer(many=True))
    def get(self, request, case_code: str):
        return Response(
            DeadlineSerializer(
                services.case_file(request.user, case_code).deadlines, many=True
            ).data
        )

    @extend_schema(request=DeadlineInputSerializer, responses={201: DeadlineSerializer})
    def post(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="deadline")
        data = _input(request, DeadlineInputSerializer)
        deadline = services.add_deadline(request.user, case_code, **data)
        return Response(DeadlineSerializer(deadline).data, status=201)


class DeadlineEndView(APIView):
    end = "met"

    @extend_schema(request=None, responses=DeadlineSerializer)
    def post(self, request, deadline_id: int):
        fn = services.meet_deadline if self.end == "met" else services.cancel_deadline
        return Response(DeadlineSerializer(fn(request.user, deadline_id)).data)


class DeadlineMetView(DeadlineEndView):
    end = "met"


class DeadlineCancelView(DeadlineEndView):
    end = "cancelled"


class ActionsView(APIView):
    @extend_schema(request=ActionInputSerializer, responses={201: ActionSerializer})
    def post(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="action")
        data = _input(request, ActionInputSerializer)
        action = services.log_action(request.user, case_code, **data)
        return Response(ActionSerializer(action).data, status=201)


class FamilyContactsView(APIView):
    @extend_schema(request=FamilyContactInputSerializer, responses={201: FamilyContactSerializer})
    def post(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="family_contact")
        data = _input(request, FamilyContactInputSerializer)
        contact = services.log_family_contact(request.user, case_code, **data)
        return Response(FamilyContactSerializer(contact).data, status=201)


class ReferralsView(APIView):
    @extend_schema(request=ReferralInputSerializer, responses={201: ReferralSerializer})
    def post(self, request, case_code: str):
        services.get_case(request.user, case_code, purpose="referral")
        data = _input(request, ReferralInputSerializer)
        referral = services.propose_referral(request.user, case_code, **data)
        return Response(ReferralSerializer(referral).data, status=201)


class IncomingReferralsView(APIView):
    @extend_schema(responses=ReferralSerializer(many=True), operation_id="cases_referrals_incoming")
    def get(self, request):
        return Response(
            ReferralSerializer(services.incoming_referrals(request.user), many=True).data
        )


class ReferralDecisionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReferralApproveView(APIView):
    @extend_schema(request=None, responses=ReferralSerializer)
    def post(self, request, referral_code: str):
        referral = services.approve_override(request.user, referral_code)
        return Response(ReferralSerializer(referral).data)


class ReferralDecisionView(APIView):
    """Accept (the reason is optional) or decline (a reason is required)."""

    decision = "accept"

    @extend_schema(request=ReferralDecisionInputSerializer, responses=ReferralSerializer)
    def post(self, request, referral_code: str):
        fn = {"accept": services.accept_referral, "decline": services.decline_referral}[
            self.decision
        ]
        data = _input(request, ReferralDecisionInputSerializer)
        referral = fn(request.user, referral_code, reason=data.get("reason", ""))
        return Response(ReferralSerializer(referral).data)


class ReferralAcceptView(ReferralDecisionView):
    decision = "accept"


class ReferralDeclineView(ReferralDecisionView):
    decision = "decline"


class DeadlinesThisWeekView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("mine", bool), *PAGING],
        responses=DeadlinePageSerializer,
        operation_id="cases_deadlines_this_week",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        mine = request.query_params.get("mine", "").lower() in ("1", "true", "yes")
        page = services.deadlines_this_week(request.user, offset=offset, limit=limit, mine=mine)
        return Response(
            {"count": page.total, "results": DeadlineSerializer(page.rows, many=True).data}
        )


class NoFamilyContactView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("days", int), *FILTERS, *PAGING],
        responses=CasePageSerializer,
        operation_id="cases_no_family_contact",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        page = services.no_family_contact_for(
            request.user,
            days=request.query_params.get("days", 14),
            offset=offset,
            limit=limit,
            filters=_filters(request),
        )
        return Response(
            {"count": page.total, "results": CaseRowSerializer(page.rows, many=True).data}
        )


class OverviewView(APIView):
    @extend_schema(
        parameters=[*FILTERS, *PAGING],
        responses=OverviewSerializer,
        operation_id="cases_overview",
        description="Supervisors and admins: every open case by status and age.",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        overview = services.supervisor_overview(
            request.user, offset=offset, limit=limit, filters=_filters(request)
        )
        return Response(
            {
                "by_status": overview.by_status,
                "count": overview.page.total,
                "results": CaseRowSerializer(overview.page.rows, many=True).data,
            }
        )


# --- Escalation policy by kind of case ------------------------------------------------------


class KindPolicySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(CaseKind.choices)
    kind_label = serializers.CharField(source="label", help_text="the kind, translated")
    policy = serializers.IntegerField(
        source="policy_id", allow_null=True, help_text="the escalation policy; null: standard"
    )
    policy_name = serializers.CharField()


class KindPolicyInputSerializer(serializers.Serializer):
    policy = serializers.IntegerField(
        allow_null=True,
        help_text="one of the organisation's escalation policies (/api/checkins/policies/); "
        "null: the standard ladder",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        write_only=True,
        help_text="your password: a sensitive action (403 without)",
    )


class KindPoliciesView(APIView):
    @extend_schema(
        responses=KindPolicySerializer(many=True),
        operation_id="cases_kind_policies",
        description="Supervisors and admins: the escalation policy of each kind of case.",
    )
    def get(self, request):
        rows = services.kind_policy_rows(request.user)
        return Response(KindPolicySerializer(rows, many=True).data)


class KindPolicyView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=CaseKind.values),
        ],
        request=KindPolicyInputSerializer,
        responses=KindPolicySerializer,
        operation_id="cases_kind_policy_set",
        description="Supervisors and admins, with `password`: the escalation policy the "
        "deadline alerts of every case of this kind climb (audited).",
    )
    def put(self, request, kind: str):
        accounts.require_role(request.user, *services.SUPERVISOR_ROLES)
        if kind not in CaseKind.values:
            raise NotFound(kind)
        data = _input(request, KindPolicyInputSerializer)
        accounts.require_password_again(
            request.user,
            data["password"],
            refusal=_("Enter your password again to change an escalation policy."),
        )
        try:
            services.set_kind_policies(request.user, {kind: data["policy"]})
        except InvalidInput as exc:
            raise InvalidInput({"policy": exc.errors.get(kind, "")}) from None
        row = next(r for r in services.kind_policy_rows(request.user) if r.kind == kind)
        return Response(KindPolicySerializer(row).data)
