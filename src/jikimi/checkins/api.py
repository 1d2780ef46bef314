"""REST API for check-ins (DRF). Thin: every call goes through services.py, which checks
access and writes the audit log. Mounted by the lead at /api/checkins/ (api_urls.py).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role
from jikimi.alerts.models import EscalationPolicy
from jikimi.people import services as people

from . import services
from .models import Enrolment


class EnrolmentSerializer(serializers.ModelSerializer):
    person = serializers.CharField(source="person.code", read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "person",
            "status",
            "phase",
            "is_drill",
            "interval_hours",
            "weekly_slots",
            "timezone",
            "grace_minutes",
            "channels",
            "language",
            "policy",
            "caseworker",
            "next_due_at",
            "next_action_at",
            "paused_until",
            "last_checkin_at",
            "open_alert",
            "created_at",
        ]


class EnrolInput(serializers.Serializer):
    person = serializers.CharField()
    interval_hours = serializers.IntegerField(required=False, allow_null=True)
    weekly_slots = serializers.ListField(child=serializers.ListField(), required=False)
    timezone = serializers.CharField(default="Asia/Seoul")
    grace_minutes = serializers.IntegerField(default=60)
    channels = serializers.ListField(child=serializers.CharField(), default=["web"])
    phone = serializers.CharField(default="", allow_blank=True)
    email = serializers.CharField(default="", allow_blank=True)
    policy = serializers.IntegerField(required=False, allow_null=True)
    is_drill = serializers.BooleanField(default=False)
    language = serializers.ChoiceField(choices=["ko", "en"], default="ko")


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "steps", "repeat_minutes", "remind_person_at_due"]


class EnrolmentList(APIView):
    serializer_class = EnrolmentSerializer  # for the OpenAPI schema

    @extend_schema(responses=EnrolmentSerializer(many=True))
    def get(self, request):
        qs = services.visible_enrolments(request.user).select_related("person")[:500]
        return Response(EnrolmentSerializer(qs, many=True).data)

    def post(self, request):
        data = EnrolInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        person = people.get_person(request.user, d["person"], purpose="checkin_enrol")
        policy = None
        if d.get("policy"):
            policy = services.policies_for(request.user).filter(pk=d["policy"]).first()
            if policy is None:
                raise services.InvalidInput({"policy": _("No such escalation policy.")})
        result = services.enrol(
            request.user,
            person,
            policy=policy,
            interval_hours=d.get("interval_hours"),
            weekly_slots=d.get("weekly_slots"),
            tz=d["timezone"],
            grace_minutes=d["grace_minutes"],
            channels=d["channels"],
            phone=d["phone"],
            email=d["email"],
            is_drill=d["is_drill"],
            language=d["language"],
        )
        body = EnrolmentSerializer(result.enrolment).data
        body["setup_url"] = request.build_absolute_uri(result.setup_path)
        return Response(body, status=201)


class EnrolmentDetail(APIView):
    serializer_class = EnrolmentSerializer  # for the OpenAPI schema

    def get(self, request, enrolment_id):
        return Response(
            EnrolmentSerializer(services.get_enrolment(request.user, enrolment_id)).data
        )


class EnrolmentTimeline(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, enrolment_id):
        enrolment = services.get_enrolment(request.user, enrolment_id)
        return Response(
            [
                {
                    "at": e.at,
                    "what": e.what,
                    "kind": e.kind,
                    "channel": e.channel,
                    "alert": e.alert.pk if e.alert else None,
                    "drill": enrolment.is_drill,
                }
                for e in services.timeline(request.user, enrolment)
            ]
        )


class EnrolmentAction(APIView):
    serializer_class = EnrolmentSerializer  # for the OpenAPI schema

    """POST pause {until, reason} | resume | withdraw {reason} | setup-link |
    policy {policy, password}."""

    @extend_schema(operation_id="checkins_enrolments_action")
    def post(self, request, enrolment_id, action: str):
        enrolment = services.get_enrolment(request.user, enrolment_id)
        reason = str(request.data.get("reason", ""))
        if action == "pause":
            until = serializers.DateTimeField().to_internal_value(request.data.get("until"))
            services.pause(request.user, enrolment, until=until, reason=reason)
        elif action == "resume":
            services.resume(request.user, enrolment)
        elif action == "withdraw":
            services.withdraw(request.user, enrolment, reason=reason)
        elif action == "setup-link":
            token = services.reissue_setup_link(request.user, enrolment)
            return Response({"setup_url": request.build_absolute_uri(f"/c/setup/{token}")})
        elif action == "policy":
            # Changing which escalation policy applies is sensitive: `password` required.
            policy = services.get_policy(request.user, request.data.get("policy"))
            _confirm_password(request)
            services.change_enrolment_policy(request.user, enrolment, policy)
        else:
            raise services.NotFound(action)
        enrolment.refresh_from_db()
        return Response(EnrolmentSerializer(enrolment).data)


def _policy_input(data) -> dict:
    return {
        "name": str(data.get("name", "")),
        "steps": data.get("steps", []),
        "repeat_minutes": data.get("repeat_minutes", 60),
        "remind_person_at_due": bool(data.get("remind_person_at_due", True)),
    }


def _confirm_password(request) -> None:
    """Changing an escalation policy is a sensitive action (DESIGN §3): the API asks for
    the password in the request body, every time, and denies (403) without it."""
    services.confirm_password(request.user, str(request.data.get("password", "")))


class PolicyList(APIView):
    serializer_class = PolicySerializer  # for the OpenAPI schema

    @extend_schema(responses=PolicySerializer(many=True))
    def get(self, request):
        return Response(PolicySerializer(services.policies_for(request.user), many=True).data)

    def post(self, request):
        """Create a policy template: supervisors and admins, with `password`."""
        accounts.require_role(request.user, Role.ADMIN, Role.SUPERVISOR)
        _confirm_password(request)
        policy = services.create_policy(request.user, **_policy_input(request.data))
        return Response(PolicySerializer(policy).data, status=201)


class PolicyDetail(APIView):
    serializer_class = PolicySerializer  # for the OpenAPI schema

    def get(self, request, policy_id: int):
        return Response(PolicySerializer(services.get_policy(request.user, policy_id)).data)

    def put(self, request, policy_id: int):
        """Change a policy: supervisors and admins, with `password`."""
        accounts.require_role(request.user, Role.ADMIN, Role.SUPERVISOR)
        policy = services.get_policy(request.user, policy_id)
        _confirm_password(request)
        policy = services.update_policy(request.user, policy, **_policy_input(request.data))
        return Response(PolicySerializer(policy).data)
