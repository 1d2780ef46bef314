"""Forms of the people pages. Validation that matters lives in people.services; these forms
only shape input, and service errors (InvalidInput) are attached to their fields."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from jikimi.lib import places

from .models import ConsentPurpose, IdentityKind, NameKind, PersonStatus, Sex

# The services' error messages are plain English; listing them here lets makemessages pick
# them up, so the pages show them translated (views pass each through gettext).
SERVICE_MESSAGES = [
    gettext_noop("a name is required"),
    gettext_noop("at most 200 characters"),
    gettext_noop("at most 500 characters"),
    gettext_noop("must be a year such as 1988"),
    gettext_noop("must be M, F or empty"),
    gettext_noop("a value is required"),
    gettext_noop("a phone number needs at least 6 digits"),
    gettext_noop("not an e-mail address"),
    gettext_noop("a phone number or an e-mail address is required"),
    gettext_noop("say why the person is shared"),
    gettext_noop("the person has not consented to sharing"),
]


# North Korean provinces and special cities by ISO 3166-2:KP code, the canonical form the
# Person model keeps: the one vocabulary in `jikimi.lib.places` (whose English names
# makemessages extracts), labelled in the user's language here.
PROVINCES = [(p.code, _(p.english)) for p in places.PROVINCES]


def province_label(code: str) -> str:
    return str(dict(PROVINCES).get(code, code))


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False)


class PersonFieldsForm(forms.Form):
    """The pseudonymous attributes shared by the create and edit forms."""

    birth_year = forms.IntegerField(
        label=_("Birth year"), required=False, min_value=1900, max_value=2100
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, required=False)
    province = forms.ChoiceField(
        label=_("Province of origin"), required=False, choices=[("", "—"), *PROVINCES]
    )
    defection_year = forms.IntegerField(
        label=_("Defection year"), required=False, min_value=1950, max_value=2100
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )


class PersonCreateForm(PersonFieldsForm):
    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("In Hangul or any romanisation.")
    )
    name_kind = forms.ChoiceField(
        label=_("Kind of name"), choices=NameKind.choices, initial=NameKind.SOUTH_LEGAL
    )
    field_order = ["name", "name_kind", "birth_year", "sex", "province", "defection_year", "notes"]


class PersonEditForm(PersonFieldsForm):
    status = forms.ChoiceField(label=_("Status"), choices=PersonStatus.choices)


class IdentityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=IdentityKind.choices)
    name_kind = forms.ChoiceField(
        label=_("Kind of name"),
        required=False,
        choices=[("", "—"), *NameKind.choices],
        help_text=_("Only for names."),
    )
    value = forms.CharField(label=_("Value"), max_length=500)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    granted = forms.TypedChoiceField(
        label=_("Decision"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Consent given")), ("no", _("Consent refused or withdrawn"))],
    )
    scope = forms.CharField(
        label=_("Scope"),
        max_length=200,
        required=False,
        help_text=_("For example: with which organisation."),
    )
    method = forms.ChoiceField(
        label=_("How it was given"),
        required=False,
        choices=[
            ("written", _("Written")),
            ("verbal", _("Verbal")),
            ("in_app", _("In the app")),
        ],
    )


class TrustedContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    relationship = forms.CharField(label=_("Relationship"), max_length=64, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("ko", _("Korean")), ("en", _("English"))]
    )


class ShareForm(forms.Form):
    organisation: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Organisation"), queryset=None, empty_label=None
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["organisation"]).queryset = organisations
