"""The REST API over the incident services (mounted at /api/incidents/ by jikimi.api.urls).

Same access rules as the pages, because the services check: another organisation's event is
404 (jikimi.api.errors maps NotFound) unless shared with this one, a write to a shared event
403 (ReadOnlyAccess), a role that may not record incidents 403, bad input 400 with messages by
field — DRF's for the body's shape, the services' (by field path, such as
`acts[0].information[0].source_reliability`) for its meaning. `events/<code>/grants/` lists,
creates and (`<id>/revoke/`) ends the event's sharing grants.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from jikimi.accounts.models import Organisation
from jikimi.core.paging import offset_limit
from jikimi.lib import gazetteer

from . import services

# --- Answers ---------------------------------------------------------------------------------


def _serializer(name: str, **fields: serializers.Field) -> type[serializers.Serializer]:
    """A serializer class whose field names (`label`, `source`, `parent`) are also attributes
    of DRF's Field: declared as a class body, the type checker sees them overridden."""
    return type(name, (serializers.Serializer,), fields)


TermRefSerializer = _serializer(
    "TermRefSerializer",
    code=serializers.CharField(),
    label=serializers.CharField(help_text="in the language of the request"),
)
PlaceRefSerializer = _serializer(
    "PlaceRefSerializer",
    code=serializers.CharField(),
    label=serializers.CharField(),
    lat=serializers.FloatField(),
    lon=serializers.FloatField(),
)


class InvolvementSerializer(serializers.Serializer):
    perpetrator = TermRefSerializer()
    degree = TermRefSerializer(allow_null=True)
    perpetrator_person = serializers.CharField(allow_null=True, help_text="a person code")


InformationSerializer = _serializer(
    "InformationSerializer",
    source_kind=TermRefSerializer(allow_null=True),
    source=serializers.CharField(
        allow_null=True, help_text="a named source (null for roles with pseudonymous data)"
    ),
    reliability=serializers.CharField(help_text="A–F, or empty"),
    credibility=serializers.CharField(help_text="1–6, or empty"),
)


class ActSerializer(serializers.Serializer):
    id = serializers.CharField()
    event = serializers.CharField(help_text="the event's code")
    act_type = TermRefSerializer()
    date = serializers.CharField(help_text="as written: YYYY, YYYY-MM, YYYY-MM-DD or start/end")
    date_start = serializers.DateField()
    date_end = serializers.DateField()
    date_precision = serializers.CharField()
    date_approx = serializers.BooleanField()
    place = PlaceRefSerializer(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    victim = serializers.CharField(
        allow_null=True, help_text="the victim's person code; null when `victim_hidden`"
    )
    victim_name = serializers.CharField(allow_null=True)
    victim_details = serializers.CharField(allow_null=True)
    involvements = InvolvementSerializer(many=True)
    information = InformationSerializer(many=True)
    victim_hidden = serializers.BooleanField(
        help_text="an act of an event shared with your organisation whose victim is not "
        "shared with it: no code, name or details"
    )


def _term_data(term: services.TermRef | None) -> dict | None:
    return None if term is None else {"code": str(term.code), "label": str(term.label)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def act_data(row: services.ActRow) -> dict:
    """What ActSerializer makes of a row, built directly: the list's 50 rows a page through
    DRF's nested serialisers (a field object per value) were a good part of the request. The
    tests hold the two equal; the schema stays ActSerializer's."""
    place = row.place
    return {
        "id": str(row.id),
        "event": str(row.event),
        "act_type": _term_data(row.act_type),
        "date": str(row.date),
        "date_start": row.date_start.isoformat(),
        "date_end": row.date_end.isoformat(),
        "date_precision": str(row.date_precision),
        "date_approx": bool(row.date_approx),
        "place": None
        if place is None
        else {
            "code": str(place.code),
            "label": str(place.label),
            "lat": float(place.lat),
            "lon": float(place.lon),
        },
        "lat": _float(row.lat),
        "lon": _float(row.lon),
        "victim": _text(row.victim),
        "victim_name": _text(row.victim_name),
        "victim_details": _text(row.victim_details),
        "victim_hidden": bool(row.victim_hidden),
        "involvements": [
            {
                "perpetrator": _term_data(i.perpetrator),
                "degree": _term_data(i.degree),
                "perpetrator_person": _text(i.perpetrator_person),
            }
            for i in row.involvements
        ],
        "information": [
            {
                "source_kind": _term_data(i.source_kind),
                "source": _text(i.source),
                "reliability": str(i.reliability),
                "credibility": str(i.credibility),
            }
            for i in row.information
        ],
    }


class ActPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text="all the acts matching, not only this page, counted up to 10,000"
    )
    count_capped = serializers.BooleanField(
        help_text="true when more acts than `count` (10,000) match: the count stopped there"
    )
    results = ActSerializer(many=True)


class EventRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField(help_text="empty for roles with pseudonymous data")
    date = serializers.CharField()
    date_start = serializers.DateField()
    place = PlaceRefSerializer(allow_null=True)
    acts = serializers.IntegerField()


class EventPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = EventRowSerializer(many=True)


class EventSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    date = serializers.CharField()
    date_start = serializers.DateField()
    date_end = serializers.DateField()
    date_precision = serializers.CharField()
    date_approx = serializers.BooleanField()
    place = PlaceRefSerializer(allow_null=True)
    lat = serializers.FloatField(allow_null=True)
    lon = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    acts = ActSerializer(many=True)
    involvements = InvolvementSerializer(many=True, help_text="of the whole event")
    information = InformationSerializer(many=True, help_text="about the whole event")
    shared_by = serializers.CharField(
        allow_null=True,
        help_text="the owner organisation's name when the event is shared with yours "
        "(read-only); null for your organisation's own",
    )


class TermSerializer(serializers.Serializer):
    vocabulary = serializers.CharField()
    code = serializers.CharField()
    label_ko = serializers.CharField()
    label_en = serializers.CharField()
    order = serializers.IntegerField()
    retired = serializers.BooleanField()


PlaceSerializer = _serializer(
    "PlaceSerializer",
    code=serializers.CharField(),
    kind=serializers.CharField(),
    country=serializers.CharField(),
    parent=serializers.CharField(allow_null=True),
    lat=serializers.FloatField(),
    lon=serializers.FloatField(),
    label_ko=serializers.CharField(),
    label_en=serializers.CharField(),
    label_zh=serializers.CharField(),
    names=serializers.ListField(child=serializers.CharField()),
)


# --- Requests --------------------------------------------------------------------------------


class InvolvementInputSerializer(serializers.Serializer):
    perpetrator = serializers.CharField(max_length=200, help_text="a code or label")
    involvement = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="the degree: code or label"
    )
    perpetrator_person = serializers.CharField(
        max_length=16, required=False, allow_blank=True, help_text="a person code"
    )


InformationInputSerializer = _serializer(
    "InformationInputSerializer",
    source=serializers.CharField(
        max_length=services.SOURCE_MAX, help_text="a source kind (code or label) or a name"
    ),
    source_reliability=serializers.CharField(
        max_length=8, required=False, allow_blank=True, help_text="A–F"
    ),
    information_credibility=serializers.CharField(
        max_length=8, required=False, allow_blank=True, help_text="1–6"
    ),
)


class VictimInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    name_hangul = serializers.CharField(max_length=200, required=False, allow_blank=True)
    birth_date = serializers.CharField(max_length=10, required=False, allow_blank=True)
    sex = serializers.CharField(max_length=8, required=False, allow_blank=True)
    province = serializers.CharField(max_length=64, required=False, allow_blank=True)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "an existing person's code, e.g. P-7KQ2-M9XD"},
            {
                "type": "object",
                "description": "a new person record",
                "properties": {
                    "name": {"type": "string", "maxLength": 200},
                    "name_hangul": {"type": "string", "maxLength": 200},
                    "birth_date": {"type": "string", "maxLength": 10},
                    "sex": {"type": "string", "maxLength": 8},
                    "province": {"type": "string", "maxLength": 64},
                },
                "required": ["name"],
            },
        ]
    }
)
class VictimField(serializers.JSONField):
    """A person code, or the fields of a new person record."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return serializers.CharField(max_length=16).run_validation(data)
        if isinstance(data, dict):
            ser = VictimInputSerializer(data=data)
            ser.is_valid(raise_exception=True)
            return dict(ser.validated_data)
        raise serializers.ValidationError(
            services.Problem("no_victim").text()  # neither a code nor an object
        )


class ActInputSerializer(serializers.Serializer):
    act_type = serializers.CharField(max_length=200, help_text="a code or label")
    victim = VictimField()
    date = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="default: the event's"
    )
    date_approx = serializers.BooleanField(required=False, default=False)
    place = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="default: the event's"
    )
    victim_details = serializers.CharField(
        max_length=services.DETAILS_MAX, required=False, allow_blank=True
    )
    involvements = InvolvementInputSerializer(many=True, required=False)
    information = InformationInputSerializer(many=True, required=False)


class EventInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=services.TITLE_MAX)
    description = serializers.CharField(
        max_length=services.DESCRIPTION_MAX, required=False, allow_blank=True
    )
    date = serializers.CharField(
        max_length=32, help_text="YYYY, YYYY-MM, YYYY-MM-DD, or a range start/end of those"
    )
    date_approx = serializers.BooleanField(required=False, default=False)
    place = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="any name of a gazetteer place (Hangul, English, Chinese), its code, or lat,lon",
    )
    acts = ActInputSerializer(many=True)
    involvements = InvolvementInputSerializer(many=True, required=False)
    information = InformationInputSerializer(many=True, required=False)


class ActFilterSerializer(serializers.Serializer):
    act_type = serializers.CharField(required=False, allow_blank=True, max_length=200)
    date_from = serializers.CharField(required=False, allow_blank=True, max_length=16)
    date_to = serializers.CharField(required=False, allow_blank=True, max_length=16)
    place = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="acts at this place or a place within it",
    )
    near = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="a place or lat,lon"
    )
    within_km = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="distance from `near`, km"
    )
    perpetrator = serializers.CharField(required=False, allow_blank=True, max_length=200)
    source_kind = serializers.CharField(required=False, allow_blank=True, max_length=200)
    reliability = serializers.CharField(
        required=False, allow_blank=True, max_length=8, help_text="this grade or better (A–F)"
    )
    victim = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="a person code"
    )
    event = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="an event code"
    )


_PAGING = [OpenApiParameter("offset", int), OpenApiParameter("limit", int)]


# --- Views -----------------------------------------------------------------------------------


class EventsView(APIView):
    @extend_schema(
        parameters=_PAGING, responses=EventPageSerializer, operation_id="incidents_events_list"
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        rows, total = services.list_events(request.user, offset=offset, limit=limit)
        return Response({"count": total, "results": EventRowSerializer(rows, many=True).data})

    @extend_schema(
        request=EventInputSerializer,
        responses={201: EventSerializer},
        operation_id="incidents_events_create",
    )
    def post(self, request):
        services.require_recorder(request.user)  # 403 before the body is judged
        ser = EventInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        event = services.record_event(request.user, **ser.validated_data)
        detail = services.event_detail(request.user, event)
        return Response(EventSerializer(detail).data, status=status.HTTP_201_CREATED)


class EventView(APIView):
    @extend_schema(responses=EventSerializer, operation_id="incidents_events_retrieve")
    def get(self, request, event_code: str):
        event = services.get_event(request.user, event_code)
        return Response(EventSerializer(services.event_detail(request.user, event)).data)


class ActsView(APIView):
    @extend_schema(
        parameters=[ActFilterSerializer, *_PAGING],
        responses=ActPageSerializer,
        operation_id="incidents_acts_list",
    )
    def get(self, request):
        offset, limit = offset_limit(request.query_params)
        ser = ActFilterSerializer(data=request.query_params)
        ser.is_valid(raise_exception=True)
        rows, total = services.list_acts(
            request.user, ser.validated_data, offset=offset, limit=limit
        )
        return Response(
            {
                "count": min(total, services.COUNT_CAP),
                "count_capped": total > services.COUNT_CAP,
                "results": [act_data(r) for r in rows],
            }
        )


class EventGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField(help_text="the event's code")
    organisation = serializers.CharField(help_text="the grantee organisation's slug")
    organisation_name = serializers.CharField()
    granted_by = serializers.CharField(allow_null=True, help_text="null for the grantee")
    reason = serializers.CharField(allow_blank=True, help_text="the owner's; empty for the grantee")
    created_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(allow_null=True)


class EventGrantInputSerializer(serializers.Serializer):
    organisation = serializers.CharField(
        max_length=50, help_text="the slug of the organisation to share the event with"
    )
    reason = serializers.CharField(max_length=services.GRANT_REASON_MAX)


class EventGrantsView(APIView):
    @extend_schema(
        responses=EventGrantSerializer(many=True), operation_id="incidents_event_grants_list"
    )
    def get(self, request, event_code: str):
        """The event's sharing grants, newest first: for the owner every one (revoked too);
        for an organisation it is shared with, only its own live grant."""
        event = services.get_event(request.user, event_code)
        rows = services.event_grants(request.user, event)
        return Response(EventGrantSerializer(rows, many=True).data)

    @extend_schema(
        request=EventGrantInputSerializer,
        responses={201: EventGrantSerializer},
        operation_id="incidents_event_grants_create",
    )
    def post(self, request, event_code: str):
        """Share the event (read-only) with another organisation. Its victims are named to
        that organisation only if they are shared with it too. The owner's case workers,
        supervisors and administrators; 403 for an organisation it is shared with."""
        event = services.get_event(request.user, event_code, purpose="share")  # 404, 403
        ser = EventGrantInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        slug = ser.validated_data["organisation"]
        org = Organisation.objects.filter(slug=slug).first()
        if org is None:
            raise services.InvalidInput({"organisation": _("No organisation has this slug.")})
        grant = services.share_event(request.user, event, org, ser.validated_data["reason"])
        row = next(r for r in services.event_grants(request.user, event) if r.id == grant.pk)
        return Response(EventGrantSerializer(row).data, status=status.HTTP_201_CREATED)


class EventGrantRevokeView(APIView):
    @extend_schema(
        request=None,
        responses=EventGrantSerializer,
        operation_id="incidents_event_grants_revoke",
    )
    def post(self, request, event_code: str, grant_id: int):
        """End a live grant: the organisation no longer sees the event (404 for it again)."""
        event = services.get_event(request.user, event_code, purpose="unshare")  # 404, 403
        grant = services.unshare_event(request.user, event, grant_id)
        row = next(r for r in services.event_grants(request.user, event) if r.id == grant.pk)
        return Response(EventGrantSerializer(row).data)


class TermsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("vocabulary", OpenApiTypes.STR, enum=list(gazetteer.VOCABULARIES)),
            OpenApiParameter("retired", bool, description="include retired terms"),
        ],
        responses=TermSerializer(many=True),
        operation_id="incidents_terms_list",
    )
    def get(self, request):
        vocabulary = request.query_params.get("vocabulary", "")
        if vocabulary and vocabulary not in gazetteer.VOCABULARIES:
            raise services.InvalidInput(
                {
                    "vocabulary": services.Problem(
                        "unknown_term_none",
                        value=vocabulary[:64],
                        nearest=", ".join(gazetteer.VOCABULARIES),
                    ).text()
                }
            )
        retired = request.query_params.get("retired", "") in ("1", "true", "True")
        terms = services.list_terms(vocabulary, include_retired=retired)
        return Response(TermSerializer(terms, many=True).data)


class PlacesView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="the start of any name (투먼, Tumen, 图们) or a code"
            ),
            OpenApiParameter("limit", int),
        ],
        responses=PlaceSerializer(many=True),
        operation_id="incidents_places_list",
    )
    def get(self, request):
        _offset, limit = offset_limit(request.query_params, default_limit=50, max_limit=500)
        query = request.query_params.get("q", "").replace("\x00", "")[:200]
        places = services.find_places(query, limit=limit)
        names = services.place_names(places)
        return Response(
            PlaceSerializer(
                [
                    {
                        "code": p.code,
                        "kind": p.kind,
                        "country": p.country,
                        "parent": p.parent.code if p.parent else None,
                        "lat": p.lat,
                        "lon": p.lon,
                        "label_ko": p.label_ko,
                        "label_en": p.label_en,
                        "label_zh": p.label_zh,
                        "names": names.get(p.pk, []),
                    }
                    for p in places
                ],
                many=True,
            ).data
        )
