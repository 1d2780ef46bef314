"""The REST API over the people services. Same access rules as the pages: the services check.

Another organisation's person is 404 (errors.exception_handler maps NotFound).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts.models import Organisation
from jikimi.people import services as people
from jikimi.people.services import NotFound

from . import serializers as s


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
        responses=s.PersonRowSerializer(many=True),
    )
    def get(self, request):
        query = request.query_params.get("q", "")
        try:
            offset = max(0, int(request.query_params.get("offset", 0)))
            limit = min(200, max(1, int(request.query_params.get("limit", 50))))
        except ValueError:
            return Response({"offset": ["must be whole numbers"]}, status=400)
        if query:
            rows = people.search_people(request.user, query, limit=limit)
            total = len(rows)
        else:
            rows, total = people.list_people(request.user, offset=offset, limit=limit)
        return Response({"count": total, "results": s.PersonRowSerializer(rows, many=True).data})

    @extend_schema(request=s.PersonCreateSerializer, responses={201: s.PersonDetailSerializer})
    def post(self, request):
        ser = s.PersonCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        person = people.create_person(request.user, **ser.validated_data)
        return Response(
            s.PersonDetailSerializer(_detail(request.user, person)).data,
            status=status.HTTP_201_CREATED,
        )


class PersonView(APIView):
    @extend_schema(responses=s.PersonDetailSerializer)
    def get(self, request, code: str):
        person = people.get_person(request.user, code)
        return Response(s.PersonDetailSerializer(_detail(request.user, person)).data)

    @extend_schema(request=s.PersonUpdateSerializer, responses=s.PersonDetailSerializer)
    def patch(self, request, code: str):
        person = people.get_person(request.user, code, purpose="edit")
        ser = s.PersonUpdateSerializer(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        people.update_person(request.user, person, **ser.validated_data)
        return Response(s.PersonDetailSerializer(_detail(request.user, person)).data)


class IdentitiesView(APIView):
    @extend_schema(request=s.IdentitySerializer, responses={201: s.IdentitySerializer})
    def post(self, request, code: str):
        person = people.get_person(request.user, code, purpose="edit")
        ser = s.IdentitySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        ident = people.add_identity(request.user, person, **ser.validated_data)
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
    @extend_schema(request=s.ConsentSerializer, responses={201: s.ConsentSerializer})
    def post(self, request, code: str):
        person = people.get_person(request.user, code, purpose="edit")
        ser = s.ConsentSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        consent = people.record_consent(request.user, person, **ser.validated_data)
        return Response(s.ConsentSerializer(consent).data, status=201)


class TrustedContactsView(APIView):
    @extend_schema(request=s.TrustedContactSerializer, responses={201: s.TrustedContactSerializer})
    def post(self, request, code: str):
        person = people.get_person(request.user, code, purpose="edit")
        ser = s.TrustedContactSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        contact = people.add_trusted_contact(request.user, person, **ser.validated_data)
        return Response(s.TrustedContactSerializer(contact).data, status=201)


class GrantsView(APIView):
    @extend_schema(request=s.GrantSerializer, responses={201: None})
    def post(self, request, code: str):
        person = people.get_person(request.user, code, purpose="share")
        ser = s.GrantSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        org = Organisation.objects.filter(slug=ser.validated_data["organisation"]).first()
        if org is None:
            raise NotFound(ser.validated_data["organisation"])
        grant = people.grant_access(request.user, person, org, ser.validated_data["reason"])
        return Response({"grant": grant.pk}, status=201)
