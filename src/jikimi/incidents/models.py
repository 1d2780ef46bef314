"""Incidents after the HURIDOCS Events Standard Formats (DESIGN §5).

An *event* (what happened, when, where) has *acts* (one victim, one act type),
*involvements* (a perpetrator and its degree, for an act or the whole event) and
*information* links to graded *sources*. Vocabularies (`Term`) and the gazetteer (`Place`,
`PlaceName`) are tables seeded from `jikimi.lib.gazetteer`'s data files (`seeding.py`);
administrators add more without code. A term or place in use cannot be deleted (PROTECT),
only retired.

What could identify someone (titles, descriptions, victim details, a source's name) is
encrypted like people's fields (`core.fields`), bound to the row by a UUID key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jikimi.core.codes import new_public_code
from jikimi.core.fields import EncryptedTextField

# Return determinations live in their own module (DESIGN §5); re-exported here.
from .models_returns import (  # noqa: F401
    Confidence,
    DeterminationLink,
    ReturnDetermination,
    Stance,
)


def _event_code() -> str:
    return new_public_code("E")


class Term(models.Model):
    """One entry of a vocabulary (act_type, perpetrator, involvement, source_kind, …)."""

    vocabulary = models.CharField(max_length=32)
    code = models.CharField(max_length=64)
    label_ko = models.CharField(max_length=200)
    label_en = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=0)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["vocabulary", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["vocabulary", "code"], name="unique_term_code")
        ]

    def __str__(self) -> str:
        return f"{self.vocabulary}:{self.code}"


class Place(models.Model):
    """A place of the gazetteer: a province, city, county, crossing, detention facility or
    transit point, with the coordinates of its centre (WGS 84)."""

    code = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=24)
    country = models.CharField(max_length=2)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    lat = models.FloatField()
    lon = models.FloatField()
    label_ko = models.CharField(max_length=200)
    label_en = models.CharField(max_length=200)
    label_zh = models.CharField(max_length=200, blank=True)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["country", "code"]

    def __str__(self) -> str:
        return self.code


class PlaceName(models.Model):
    """Every name a place is known by (Korean, English, Chinese, aliases): `key` is
    `gazetteer.name_key(name)`, so 투먼, Tumen, TU-MEN and 图们 all find cn-tumen."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "key"], name="unique_place_name_key")
        ]


class DatePrecision(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month")
    YEAR = "year", _("Year")


class Event(models.Model):
    """What happened, when (with its precision, or a range) and where."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=16, unique=True, default=_event_code, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="incident_events"
    )
    title = EncryptedTextField()
    description = EncryptedTextField(blank=True, null=True)
    # The earliest and the latest day the date allows: 2018-06 is 2018-06-01..2018-06-30,
    # a range 2017-07-15/2017-07-16 its two ends; `date_text` keeps what was written.
    date_start = models.DateField()
    date_end = models.DateField()
    date_precision = models.CharField(max_length=8, choices=DatePrecision.choices)
    date_approx = models.BooleanField(default=False)
    date_text = models.CharField(max_length=32)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The place's coordinates, or the `lat,lon` written instead of a place name.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    external_id = models.CharField(max_length=128, blank=True)  # the import's event_id
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_start", "-created_at"]
        indexes = [models.Index(fields=["organisation", "-date_start", "id"])]

    def __str__(self) -> str:
        return self.code


#: The act's columns the act list filters on (besides its organisation and its start date);
#: the lists of an act of several perpetrators or source kinds are short (",3,17,"), one
#: entry per term of a small vocabulary.
FILTERED = [
    "date_end",
    "act_type",
    "place",
    "perpetrator",
    "source_kind",
    "reliability",
    "links_many",
    "perpetrators",
    "sources",
]


class Act(models.Model):
    """One act against one victim (a person record). Its date and place default to the
    event's. The organisation is the event's, copied so the filters start from this table."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="acts")
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    victim = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    act_type = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    date_start = models.DateField()
    date_end = models.DateField()
    date_precision = models.CharField(max_length=8, choices=DatePrecision.choices)
    date_approx = models.BooleanField(default=False)
    date_text = models.CharField(max_length=32)
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    victim_details = EncryptedTextField(blank=True, null=True)
    victim_record_id = models.CharField(max_length=128, blank=True)  # the import's record id
    created_at = models.DateTimeField(auto_now_add=True)
    # What its links (and its event's whole-event links) say, copied here so the act list
    # filters without a join (`summary.py`); every write of links rewrites them.
    perpetrator = models.ForeignKey(
        Term, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    perpetrators = models.TextField(blank=True, default="")
    source_kind = models.ForeignKey(
        Term, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    reliability = models.CharField(max_length=1, blank=True, default="")
    sources = models.TextField(blank=True, default="")
    links_many = models.BooleanField(default=False)

    class Meta:
        ordering = ["-date_start", "-created_at"]
        # The filters of the act list (issue #14 point 5): each starts with the organisation
        # and goes on as the list is ordered, so a page is read in order and stops early;
        # after that every other filter's column (FILTERED), so whatever filters are
        # combined, the page and the capped count are read from the index alone: checking
        # the 10,001 matches of a count against the table row by row was most of the time.
        indexes = [
            models.Index(fields=["organisation", "-date_start", "id", *FILTERED]),
            *(
                models.Index(
                    fields=["organisation", name, "-date_start", "id"]
                    + [f for f in FILTERED if f != name]
                )
                for name in ("act_type", "place", "perpetrator", "source_kind", "reliability")
            ),
            # 'Within N km' reads the coordinates of the acts without a place only (those at a
            # place go by the place's distance): this index holds those acts alone.
            models.Index(
                fields=["organisation", "lat", "lon"],
                condition=models.Q(place__isnull=True),
                name="incidents_act_typed_point",
            ),
            models.Index(fields=["organisation", "victim_record_id"]),
            models.Index(fields=["organisation", "links_many", "-date_start", "id"]),
        ]


class Involvement(models.Model):
    """A perpetrator (an organisation of the vocabulary, optionally a person) and its degree
    (ordered, carried out, assisted, failed to prevent), for one act or, without an act, the
    whole event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="involvements")
    act = models.ForeignKey(
        Act, on_delete=models.CASCADE, null=True, blank=True, related_name="involvements"
    )
    perpetrator = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="+")
    perpetrator_person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    degree = models.ForeignKey(
        Term, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        # The act list's perpetrator filter reads the acts (and whole events) of one
        # perpetrator: its ids straight from this index.
        indexes = [models.Index(fields=["perpetrator", "act", "event"])]


class Source(models.Model):
    """Who reported it: a kind of the vocabulary and, for a named source, its name
    (encrypted; `label_key` is its blind index, so one source is found again)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.ForeignKey(
        Term, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    label = EncryptedTextField(blank=True, null=True)
    label_key = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "kind", "label_key"])]


class Reliability(models.TextChoices):
    """The source's reliability (NATO / Admiralty scale)."""

    A = "A", _("A: completely reliable")
    B = "B", _("B: usually reliable")
    C = "C", _("C: fairly reliable")
    D = "D", _("D: not usually reliable")
    E = "E", _("E: unreliable")
    F = "F", _("F: reliability cannot be judged")


class Credibility(models.TextChoices):
    """The information's credibility (NATO / Admiralty scale)."""

    CONFIRMED = "1", _("1: confirmed by other sources")
    PROBABLE = "2", _("2: probably true")
    POSSIBLE = "3", _("3: possibly true")
    DOUBTFUL = "4", _("4: doubtful")
    IMPROBABLE = "5", _("5: improbable")
    UNKNOWN = "6", _("6: truth cannot be judged")


class Information(models.Model):
    """A source says this about the event (or one of its acts), graded."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="information")
    act = models.ForeignKey(
        Act, on_delete=models.CASCADE, null=True, blank=True, related_name="information"
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="information")
    reliability = models.CharField(max_length=1, choices=Reliability.choices, blank=True)
    credibility = models.CharField(max_length=1, choices=Credibility.choices, blank=True)

    class Meta:
        # The reliability filter reads the acts (and whole events) of some grades.
        indexes = [models.Index(fields=["reliability", "act", "event"])]


# --- Evidence (incidents/evidence.py) ---------------------------------------------------------


class Evidence(models.Model):
    """A file attached to an event (optionally to one of its acts).

    The bytes are in the encrypted evidence store (`jikimi.core.filestore`), never here: this
    row keeps what finds and checks them (file id, SHA-256 and size at intake, the per-file
    key wrapped by the key ring). The original file name and the description are encrypted
    like the event's text."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="evidence")
    act = models.ForeignKey(
        Act, on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    file_name = EncryptedTextField()
    description = EncryptedTextField(blank=True, null=True)
    media_type = models.CharField(max_length=127)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    file_id = models.CharField(max_length=32, unique=True)
    key_id = models.CharField(max_length=64)
    wrapped_key = models.TextField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # Withdrawn (e.g. the source withdrew consent): the stored file and its key are
    # destroyed, this row stays as a tombstone with who, when and why.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    withdrawn_reason = EncryptedTextField(blank=True, null=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [models.Index(fields=["event", "uploaded_at"])]

    def __str__(self) -> str:
        return f"evidence {self.pk}"


class CustodyAction(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    VIEW = "view", _("View")
    DOWNLOAD = "download", _("Download")
    VERIFY = "verify", _("Verify")
    WITHDRAW = "withdraw", _("Withdraw")


class CustodyEntry(models.Model):
    """One line of a piece of evidence's custody log: who did what with it, when and why.

    Append-only: the services only ever create these (no update, no delete); each is also
    written to the audit log. The reason (typed by the user) is encrypted; `detail` holds no
    personal data (an outcome such as `{"ok": false, "failure": "tampered"}`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    action = models.CharField(max_length=16, choices=CustodyAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    reason = EncryptedTextField(blank=True, null=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["evidence", "at"])]


# --- Sharing an event (services.share_event) ----------------------------------------------------


class EventGrant(models.Model):
    """An explicit grant: `to_organisation` may *read* one event of `from_organisation`
    (DESIGN §3), never change it or pass it on (services.require_event_owner refuses).

    The event's victims are not shared by it: a victim is named to the grantee only when
    that person is visible to it anyway (its own, or shared by a people SharingGrant).
    Revoked grants stay, with who revoked them and when; at most one live grant per event
    and organisation."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="grants")
    from_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    to_organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every read of a grantee looks up its live grants by organisation.
        indexes = [models.Index(fields=["to_organisation", "revoked_at", "event"])]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "to_organisation"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_event_grant_per_organisation",
            ),
            models.CheckConstraint(
                condition=~models.Q(from_organisation=models.F("to_organisation")),
                name="event_grant_to_another_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"event grant {self.pk}"
