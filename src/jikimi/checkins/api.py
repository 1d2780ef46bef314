"""REST API for check-ins (DRF). Thin: every call goes through services.py, which checks
access and writes the audit log. Mounted by the lead at /api/checkins/ (api_urls.py).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
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


class EnrolmentCreatedSerializer(EnrolmentSerializer):
    setup_url = serializers.URLField(
        read_only=True, help_text="Give this to the person once: they set their PINs there."
    )

    class Meta(EnrolmentSerializer.Meta):
        fields = [*EnrolmentSerializer.Meta.fields, "setup_url"]


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    what = serializers.ChoiceField(choices=["checkin", "alert"])
    kind = serializers.CharField()
    channel = serializers.CharField(allow_blank=True)
    alert = serializers.IntegerField(allow_null=True)
    drill = serializers.BooleanField()


class PauseInput(serializers.Serializer):
    until = serializers.DateTimeField(help_text="within the next 60 days")
    reason = serializers.CharField(default="", allow_blank=True, help_text="required: say why")


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(default="", allow_blank=True, help_text="required: say why")


class PolicyChoiceInput(serializers.Serializer):
    policy = serializers.IntegerField()
    password = serializers.CharField(help_text="your password: a sensitive action (403 without)")


class SetupLinkSerializer(serializers.Serializer):
    setup_url = serializers.URLField()


class PolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationPolicy
        fields = ["id", "name", "steps", "repeat_minutes", "remind_person_at_due"]


class PolicyInput(serializers.Serializer):
    """What a policy write reads (documentation: `_policy_input` and the services check it)."""

    name = serializers.CharField()
    steps = serializers.ListField(
        child=serializers.DictField(),
        help_text='the ladder: [{"after_minutes": 0, "to": "supervisors"}, …]',
    )
    repeat_minutes = serializers.IntegerField(default=60)
    remind_person_at_due = serializers.BooleanField(default=True)
    password = serializers.CharField(help_text="your password: a sensitive action (403 without)")


class EnrolmentList(APIView):
    serializer_class = EnrolmentSerializer  # for the OpenAPI schema

    @extend_schema(responses=EnrolmentSerializer(many=True))
    def get(self, request):
        qs = services.visible_enrolments(request.user).select_related("person")[:500]
        return Response(EnrolmentSerializer(qs, many=True).data)

    @extend_schema(
        request=EnrolInput,
        responses={
            201: EnrolmentCreatedSerializer,
            404: OpenApiResponse(description="No such person that you may see."),
        },
    )
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
    @extend_schema(responses=TimelineEntrySerializer(many=True))
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
    """POST pause {until, reason} | resume | withdraw {reason} | setup-link |
    policy {policy, password}: one route each (api_urls), each with its own schema below."""

    serializer_class = EnrolmentSerializer  # for the OpenAPI schema
    enrolment_action = ""  # which one: set by each route's subclass

    def post(self, request, enrolment_id):
        enrolment = services.get_enrolment(request.user, enrolment_id)
        reason = str(request.data.get("reason", ""))
        action = self.enrolment_action
        if action == "pause":
            body = PauseInput(data=request.data)
            body.is_valid(raise_exception=True)
            until = body.validated_data["until"]
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


class EnrolmentPause(EnrolmentAction):
    enrolment_action = "pause"

    @extend_schema(request=PauseInput, responses=EnrolmentSerializer)
    def post(self, request, enrolment_id):
        """No check-ins expected until `until` (travel, hospital); it resumes by itself then."""
        return super().post(request, enrolment_id)


class EnrolmentResume(EnrolmentAction):
    enrolment_action = "resume"

    @extend_schema(request=None, responses=EnrolmentSerializer)
    def post(self, request, enrolment_id):
        """A paused enrolment is active again, due from now."""
        return super().post(request, enrolment_id)


class EnrolmentWithdraw(EnrolmentAction):
    enrolment_action = "withdraw"

    @extend_schema(request=ReasonInput, responses=EnrolmentSerializer)
    def post(self, request, enrolment_id):
        """Consent withdrawn: monitoring stops and the consent record says so."""
        return super().post(request, enrolment_id)


class EnrolmentSetupLink(EnrolmentAction):
    enrolment_action = "setup-link"

    @extend_schema(request=None, responses=SetupLinkSerializer)
    def post(self, request, enrolment_id):
        """A new PIN set-up link for the person (the old one stops working)."""
        return super().post(request, enrolment_id)


class EnrolmentPolicy(EnrolmentAction):
    enrolment_action = "policy"

    @extend_schema(request=PolicyChoiceInput, responses=EnrolmentSerializer)
    def post(self, request, enrolment_id):
        """Move the enrolment to another escalation policy: with your `password`."""
        return super().post(request, enrolment_id)


ENROLMENT_ACTIONS = {
    view.enrolment_action: view
    for view in (
        EnrolmentPause,
        EnrolmentResume,
        EnrolmentWithdraw,
        EnrolmentSetupLink,
        EnrolmentPolicy,
    )
}


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

    @extend_schema(request=PolicyInput, responses={201: PolicySerializer})
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

    @extend_schema(request=PolicyInput, responses=PolicySerializer)
    def put(self, request, policy_id: int):
        """Change a policy: supervisors and admins, with `password`."""
        accounts.require_role(request.user, Role.ADMIN, Role.SUPERVISOR)
        policy = services.get_policy(request.user, policy_id)
        _confirm_password(request)
        policy = services.update_policy(request.user, policy, **_policy_input(request.data))
        return Response(PolicySerializer(policy).data)
