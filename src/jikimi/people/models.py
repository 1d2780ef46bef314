"""People: a pseudonymous core, with everything identifying encrypted (DESIGN §1)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jikimi.core.codes import new_public_code
from jikimi.core.fields import EncryptedTextField


def _person_code() -> str:
    return new_public_code("P")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNKNOWN = "", _("Unknown")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MISSING = "missing", _("Missing")
    DETAINED = "detained", _("Detained")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Person(models.Model):
    """No name here: a random public code and coarse attributes only."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=16, unique=True, default=_person_code, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="people"
    )
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    province = models.CharField(max_length=24, blank=True)  # canonical code, e.g. "NHAM"
    defection_year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=PersonStatus.choices, default=PersonStatus.ACTIVE
    )
    notes = EncryptedTextField(blank=True, null=True)
    # The display name is the primary name identity, encrypted here too so that a list page
    # decrypts one field per row instead of joining identities.
    display_name = EncryptedTextField(blank=True, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        # The list page: one organisation's people, newest first (id breaks ties).
        indexes = [models.Index(fields=["organisation", "-created_at", "id"])]

    def __str__(self) -> str:
        return self.code


class SharingGrant(models.Model):
    """An explicit grant: `to_organisation` may *read* one person of another (DESIGN §3).

    A grant never lets the grantee write: people.services.require_owner refuses it.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="grants")
    to_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="grants_received"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table and index keep the names they had in accounts (the model moved, the
        # rows did not: migrations accounts 0005 and people 0002 change only Django's state).
        db_table = "accounts_sharinggrant"
        indexes = [
            models.Index(
                fields=["to_organisation", "person"], name="accounts_sh_to_orga_a4740a_idx"
            )
        ]


class IdentityKind(models.TextChoices):
    NAME = "name", _("Name")
    BIRTH_DATE = "birth_date", _("Birth date")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    ADDRESS = "address", _("Address")


class NameKind(models.TextChoices):
    SOUTH_LEGAL = "sk_legal", _("South Korean legal name")
    NORTH_BIRTH = "nk_birth", _("North Korean birth name")
    CHINA_ALIAS = "cn_alias", _("Alias used in China")
    OTHER_ALIAS = "alias", _("Other alias")


class Script(models.TextChoices):
    HANGUL = "hangul", _("Hangul")
    LATIN = "latin", _("Latin (romanised)")
    HANZI = "hanzi", _("Chinese characters")
    OTHER = "other", _("Other")


class Identity(models.Model):
    """One identifying fact about a person; the value is encrypted, bound to this row."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=IdentityKind.choices)
    name_kind = models.CharField(max_length=16, choices=NameKind.choices, blank=True)
    script = models.CharField(max_length=8, choices=Script.choices, blank=True)
    value = EncryptedTextField()
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["kind", "-is_primary", "created_at"]


class IdentityIndex(models.Model):
    """Blind-index entries for exact look-up: keyed hashes of normalised values or name keys.

    The organisation is copied here so a search filters before it joins.
    """

    # No database constraint either (issue #14): the rows are written only with their
    # identity, in its transaction, and go with it (Django's delete cascades here by this
    # indexed key); a constraint checked every one of an import's 3 million rows against
    # the identities at commit (PostgreSQL) or as each went in (SQLite).
    identity = models.ForeignKey(
        Identity, on_delete=models.CASCADE, related_name="index", db_constraint=False
    )
    # The identity's person, copied so a search answers with people without a join. No
    # database constraint: the identity's own key already ties the row to a person that
    # exists, while checking a second key on each of an import's millions of rows cost
    # PostgreSQL about 40 s per 100,000 people at commit (issue #14). No index of its own
    # and nothing done on delete: deleting a person deletes its identities, and those their
    # rows here (by `identity`, which is indexed); nothing looks these rows up by person,
    # and a fourth B-tree cost an import about a fifth of its index writes.
    person = models.ForeignKey(
        Person,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    organisation_id = models.BigIntegerField()
    digest = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["digest", "organisation_id"])]


class ConsentPurpose(models.TextChoices):
    CHECKINS = "checkins", _("Scheduled check-ins")
    SHARING = "sharing", _("Sharing with another organisation")
    TRUSTED_CONTACT = "trusted_contact", _("Contacting trusted contacts")
    PUBLICATION = "publication", _("Publication in aggregate reports")
    LOCATION = "location", _("Location sharing")
    # The person's or their family's consent to name them in a UN submission (cases'
    # draft generator fills the identity only with it).
    UN_SUBMISSION = "un_submission", _("Disclosure of identity in a UN submission")


class Consent(models.Model):
    """Consent per purpose. Rows are appended; the newest row per purpose is in force."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=24, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    scope = models.CharField(max_length=200, blank=True)  # e.g. with whom sharing is allowed
    method = models.CharField(max_length=32, blank=True)  # written, verbal, in app
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["purpose", "-recorded_at", "-id"]


class TrustedContact(models.Model):
    """Someone the person chose to be contacted if they go missing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="trusted_contacts")
    name = EncryptedTextField()
    relationship = models.CharField(max_length=64, blank=True)
    phone = EncryptedTextField(blank=True, null=True)
    email = EncryptedTextField(blank=True, null=True)
    language = models.CharField(max_length=8, default="ko")
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]


class SourceRecord(models.Model):
    """Where a person came from: a row of an imported list (provenance for linkage)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="source_records")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=64)
    record_id = models.CharField(max_length=128)
    county = models.CharField(max_length=64, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "source", "record_id"], name="unique_source_record"
            )
        ]
