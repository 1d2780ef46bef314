"""The REST API over the people services (mounted at /api/people/ by jikimi.api.urls).

Same access rules as the pages, because the services check: another organisation's person
is 404 (jikimi.api.errors maps NotFound), and a person shared with this organisation is
read-only (a write is ReadOnlyAccess, 403).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts.models import Organisation
from jikimi.core.paging import offset_limit

from . import services as people
from .models import ConsentPurpose, IdentityKind, NameKind, PersonStatus, Sex
from .services import NotFound


class PersonRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    display_name = serializers.CharField(allow_null=True)
    birth_year = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    province = serializers.CharField()
    status = serializers.CharField()
    organisation = serializers.CharField()
    match = serializers.ChoiceField(
        choices=["exact", "close", ""],
        help_text='in a name search: "exact" (a spelling of the name searched) or "close" (a '
        "name one typing error away; these come after the exact ones); empty otherwise",
    )


class PersonPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="all the people matching, not only this page")
    results = PersonRowSerializer(many=True)


class GrantCreatedSerializer(serializers.Serializer):
    grant = serializers.IntegerField()


class PersonCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_kind = serializers.ChoiceField(NameKind.choices, default=NameKind.SOUTH_LEGAL)
    birth_year = serializers.IntegerField(required=False, allow_null=True)
    sex = serializers.ChoiceField(Sex.choices, required=False, allow_blank=True)
    province = serializers.CharField(required=False, allow_blank=True, max_length=24)
    defection_year = serializers.IntegerField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class PersonUpdateSerializer(serializers.Serializer):
    birth_year = serializers.IntegerField(required=False, allow_null=True)
    sex = serializers.ChoiceField(Sex.choices, required=False, allow_blank=True)
    province = serializers.CharField(required=False, allow_blank=True, max_length=24)
    defection_year = serializers.IntegerField(required=False, allow_null=True)
    status = serializers.ChoiceField(PersonStatus.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class IdentitySerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(IdentityKind.choices)
    name_kind = serializers.ChoiceField(NameKind.choices, required=False, allow_blank=True)
    script = serializers.CharField(read_only=True)
    value = serializers.CharField(max_length=500, allow_null=True)
    is_primary = serializers.BooleanField(default=False)
    masked = serializers.BooleanField(read_only=True)


class ConsentSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(ConsentPurpose.choices)
    granted = serializers.BooleanField()
    scope = serializers.CharField(required=False, allow_blank=True, max_length=200)
    method = serializers.CharField(required=False, allow_blank=True, max_length=32)
    recorded_at = serializers.DateTimeField(read_only=True)


class TrustedContactSerializer(serializers.Serializer):
    id = serializers.CharField(read_only=True)
    name = serializers.CharField(max_length=200)
    relationship = serializers.CharField(required=False, allow_blank=True, max_length=64)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    language = serializers.CharField(required=False, default="ko", max_length=8)


class PersonDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    organisation = serializers.CharField(source="organisation.slug")
    birth_year = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    province = serializers.CharField()
    defection_year = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    identities = IdentitySerializer(many=True)
    consents = ConsentSerializer(many=True)
    trusted_contacts = TrustedContactSerializer(many=True)


class GrantSerializer(serializers.Serializer):
    organisation = serializers.SlugField()
    reason = serializers.CharField(max_length=500)


def _detail(user, person) -> dict:
    return {
        "code": person.code,
        "organisation": person.organisation,
        "birth_year": person.birth_year,
        "sex": person.sex,
        "province": person.province,
        "defection_year": person.defection_year,
        "status": person.status,
        "created_at": person.created_at,
        "identities": people.identities_of(user, person),
        "consents": list(people.current_consents(person).values()),
        "trusted_contacts": people.trusted_contacts_of(user, person),
    }


def _person_and_input(request, code: str, serializer, *, purpose: str = "edit", **kwargs):
    """The person a write is for, checked first (404, or 403 through a sharing grant, before
    the body is judged), and the body's validated data (400)."""
    person = people.get_person(request.user, code, purpose=purpose)
    ser = serializer(data=request.data, **kwargs)
    ser.is_valid(raise_exception=True)
    return person, ser.validated_data


class PeopleView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="a name in any script or "
                "romanisation, a phone number, an e-mail or a code",
            ),
            OpenApiParameter("offset", int),
            OpenApiParameter("limit", int),
        ],
        responses=PersonPageSerializer,
        operation_id="people_list",
    )
    def get(self, request):
        query = request.query_params.get("q", "")
        offset, limit = offset_limit(request.query_params)
        if query:
            rows = people.search_people(request.user, query, limit=limit)
            total = len(rows)
        else:
            rows, total = people.list_people(request.user, offset=offset, limit=limit)
        return Response({"count": total, "results": PersonRowSerializer(rows, many=True).data})

    @extend_schema(request=PersonCreateSerializer, responses={201: PersonDetailSerializer})
    def post(self, request):
        ser = PersonCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        person = people.create_person(request.user, **ser.validated_data)
        return Response(
            PersonDetailSerializer(_detail(request.user, person)).data,
            status=status.HTTP_201_CREATED,
        )


class PersonView(APIView):
    @extend_schema(responses=PersonDetailSerializer)
    def get(self, request, code: str):
        person = people.get_person(request.user, code)
        return Response(PersonDetailSerializer(_detail(request.user, person)).data)

    @extend_schema(request=PersonUpdateSerializer, responses=PersonDetailSerializer)
    def patch(self, request, code: str):
        person, data = _person_and_input(request, code, PersonUpdateSerializer, partial=True)
        people.update_person(request.user, person, **data)
        return Response(PersonDetailSerializer(_detail(request.user, person)).data)


class IdentitiesView(APIView):
    @extend_schema(request=IdentitySerializer, responses={201: IdentitySerializer})
    def post(self, request, code: str):
        person, data = _person_and_input(request, code, IdentitySerializer)
        ident = people.add_identity(request.user, person, **data)
        return Response(
            {
                "id": str(ident.pk),
                "kind": ident.kind,
                "name_kind": ident.name_kind,
                "script": ident.script,
                "value": ident.value,
                "is_primary": ident.is_primary,
                "masked": False,
            },
            status=201,
        )


class ConsentsView(APIView):
    @extend_schema(request=ConsentSerializer, responses={201: ConsentSerializer})
    def post(self, request, code: str):
        person, data = _person_and_input(request, code, ConsentSerializer)
        consent = people.record_consent(request.user, person, **data)
        return Response(ConsentSerializer(consent).data, status=201)


class TrustedContactsView(APIView):
    @extend_schema(request=TrustedContactSerializer, responses={201: TrustedContactSerializer})
    def post(self, request, code: str):
        person, data = _person_and_input(request, code, TrustedContactSerializer)
        contact = people.add_trusted_contact(request.user, person, **data)
        return Response(TrustedContactSerializer(contact).data, status=201)


class GrantsView(APIView):
    @extend_schema(request=GrantSerializer, responses={201: GrantCreatedSerializer})
    def post(self, request, code: str):
        person, data = _person_and_input(request, code, GrantSerializer, purpose="share")
        org = Organisation.objects.filter(slug=data["organisation"]).first()
        if org is None:
            raise NotFound(data["organisation"])
        grant = people.grant_access(request.user, person, org, data["reason"])
        return Response({"grant": grant.pk}, status=201)
