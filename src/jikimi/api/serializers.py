from __future__ import annotations

from rest_framework import serializers

from jikimi.people.models import ConsentPurpose, IdentityKind, NameKind, PersonStatus, Sex


class PersonRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    display_name = serializers.CharField(allow_null=True)
    birth_year = serializers.IntegerField(allow_null=True)
    sex = serializers.CharField()
    province = serializers.CharField()
    status = serializers.CharField()
    organisation = serializers.CharField()


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
