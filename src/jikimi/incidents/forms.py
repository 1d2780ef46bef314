"""Forms of the incident pages. They shape input; the rules (a date of `lib.dates`, a place
of the gazetteer, a victim the user may see, the grades, all or nothing) are
`services.validate_event`'s, whose field-named errors the view puts on these fields, so the
page refuses exactly what the importer and the API refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from jikimi.lib import dates, places

from .models import Credibility, Place, Reliability, Term

#: Act rows the form shows without JavaScript (blank ones are ignored); "Add another act"
#: adds one (htmx, or a plain submit that shows the form again with one more row).
ACT_ROWS = 3
MAX_ACT_ROWS = 30
_ACT_KEY = re.compile(r"^act-(\d{1,3})-")


def in_language(ko: str, en: str) -> str:
    """The label in the current language (Korean unless the page is in English)."""
    return en if (get_language() or "ko").startswith("en") and en else ko


def term_label(term: Term | None) -> str:
    return in_language(term.label_ko, term.label_en) if term else ""


def place_label(place: Place | None) -> str:
    return in_language(place.label_ko, place.label_en) if place else ""


def term_choices(vocabulary: str, *, blank: str = "—", keep: Iterable[str] = ()) -> list:
    """The vocabulary's terms in their order; retired terms are not offered (`keep`: codes
    to offer all the same, e.g. the value already chosen)."""
    keep = set(keep)
    rows = Term.objects.filter(vocabulary=vocabulary).order_by("order", "code")
    return [("", blank)] + [
        (t.code, term_label(t)) for t in rows if not t.retired or t.code in keep
    ]


def place_names() -> list[str]:
    """The names the place field's <datalist> offers: each place not retired, in the
    current language and in Chinese (any other name is found when typed)."""
    names: list[str] = []
    rows = Place.objects.filter(retired=False).order_by("country", "label_en")
    for ko, en, zh in rows.values_list("label_ko", "label_en", "label_zh"):  # no model per place
        names.append(in_language(ko, en))
        if zh:
            names.append(zh)
    return list(dict.fromkeys(n for n in names if n))


def date_message(exc: dates.DateError) -> str:
    return _g(dates.MESSAGES[exc.code]) % exc.params


class TextInput(forms.TextInput):
    def __init__(self, **attrs: str) -> None:
        super().__init__(attrs={"autocomplete": "off", **attrs})


def _grade_field(label, choices, message) -> forms.ChoiceField:
    field = forms.ChoiceField(label=label, required=False, choices=[("", "—"), *choices])
    field.error_messages["invalid_choice"] = message
    return field


class EventForm(forms.Form):
    """The event and its one source (title, when, where, who reported it, graded)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Stored encrypted."),
    )
    date = forms.CharField(
        label=_("Date"),
        max_length=32,
        widget=TextInput(placeholder="2018-06-14"),
        help_text=_("YYYY, YYYY-MM or YYYY-MM-DD, or a range start/end (2018-06/2018-08)."),
    )
    date_approx = forms.BooleanField(label=_("The date is approximate"), required=False)
    place = forms.CharField(
        label=_("Place"),
        max_length=200,
        required=False,
        widget=TextInput(list="place-names"),
        help_text=_("Any name of the place: Korean, English or Chinese (투먼, Tumen, 图们)."),
    )
    source_kind = forms.ChoiceField(label=_("Kind of source"), required=False)
    source = forms.CharField(
        label=_("Source"),
        max_length=200,
        required=False,
        widget=TextInput(),
        help_text=_("Who reported it. Stored encrypted."),
    )
    source_reliability = _grade_field(
        _("Source reliability"),
        Reliability.choices,
        _("%(value)s is not a grade A–F."),
    )
    information_credibility = _grade_field(
        _("Information credibility"),
        Credibility.choices,
        _("%(value)s is not a grade 1–6."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = cast(forms.ChoiceField, self.fields["source_kind"])
        kind.choices = term_choices("source_kind")
        kind.error_messages["invalid_choice"] = _("Choose a kind of source from the list.")


class ActForm(forms.Form):
    """One act: its victim (an existing person by code, or a new one typed here), its type,
    and who did it."""

    victim_code = forms.CharField(
        label=_("Victim's person code"),
        max_length=32,
        required=False,
        widget=TextInput(placeholder="P-7KQ2-M9XD"),
        help_text=_("A person already recorded; or leave empty and type a new victim below."),
    )
    victim_name = forms.CharField(
        label=_("Name (romanised)"), max_length=200, required=False, widget=TextInput()
    )
    victim_name_hangul = forms.CharField(
        label=_("Name in Hangul"), max_length=200, required=False, widget=TextInput()
    )
    victim_birth_date = forms.CharField(
        label=_("Birth date"),
        max_length=10,
        required=False,
        widget=TextInput(placeholder="1987-02-11"),
        help_text=_("YYYY, YYYY-MM or YYYY-MM-DD."),
    )
    victim_sex = forms.ChoiceField(
        label=_("Sex"),
        required=False,
        choices=[("", "—"), ("F", _("Female")), ("M", _("Male"))],
    )
    victim_province = forms.ChoiceField(label=_("Province of origin"), required=False)
    act_type = forms.ChoiceField(label=_("Act"), required=False)
    perpetrator = forms.ChoiceField(label=_("Perpetrator"), required=False)
    involvement = forms.ChoiceField(label=_("Involvement"), required=False)
    # Three a row on a desktop: what was done and by whom, who the victim is, and the rest.
    field_order = ["act_type", "perpetrator", "involvement", "victim_code"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, vocabulary, message in (
            ("act_type", "act_type", _("Choose an act from the list.")),
            ("perpetrator", "perpetrator", _("Choose a perpetrator from the list.")),
            ("involvement", "involvement", _("Choose a degree of involvement from the list.")),
        ):
            field = cast(forms.ChoiceField, self.fields[name])
            field.choices = term_choices(vocabulary)
            field.error_messages["invalid_choice"] = message
        cast(forms.ChoiceField, self.fields["victim_province"]).choices = [
            ("", "—"),
            *[(p.code, in_language(p.hangul, _g(p.english))) for p in places.PROVINCES],
        ]

    @property
    def is_blank(self) -> bool:
        """Nothing typed or chosen in the row (checked on the raw data: it is ignored)."""
        return not any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in self.fields
        )


def act_indexes(data: Mapping[str, Any] | None, *, add: bool = False) -> list[int]:
    """The act rows of a submitted form (their `act-N-` prefixes), at least ACT_ROWS; `add`
    one more (the "Add another act" button without JavaScript)."""
    found = sorted(
        {int(m.group(1)) for key in (data or {}) if (m := _ACT_KEY.match(key))}
        | set(range(ACT_ROWS))
    )[:MAX_ACT_ROWS]
    if add and len(found) < MAX_ACT_ROWS:
        found.append(found[-1] + 1)
    return found


def act_forms(data: Mapping[str, Any] | None, *, add: bool = False) -> list[ActForm]:
    return [ActForm(data, prefix=f"act-{i}") for i in act_indexes(data, add=add)]


class FilterForm(forms.Form):
    """The list's filters (GET: codes, dates, a place name and a distance; no person data)."""

    act_type = forms.ChoiceField(label=_("Act"), required=False)
    date_from = forms.CharField(
        label=_("From"), required=False, max_length=10, widget=TextInput(placeholder="2017")
    )
    date_to = forms.CharField(
        label=_("To"), required=False, max_length=10, widget=TextInput(placeholder="2019-06")
    )
    place = forms.CharField(
        label=_("Place"), required=False, max_length=200, widget=TextInput(list="place-names")
    )
    within_km = forms.IntegerField(
        label=_("Within (km)"),
        required=False,
        min_value=1,
        max_value=2000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    perpetrator = forms.ChoiceField(label=_("Perpetrator"), required=False)
    source_kind = forms.ChoiceField(label=_("Kind of source"), required=False)
    reliability = forms.ChoiceField(
        label=_("Source reliability at least"),
        required=False,
        choices=[("", _("Any")), *Reliability.choices],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("act_type", "perpetrator", "source_kind"):
            field = cast(forms.ChoiceField, self.fields[name])
            # Retired terms stay filterable: old records still carry them.
            field.choices = [("", _("Any"))] + [
                (t.code, term_label(t))
                for t in Term.objects.filter(vocabulary=name).order_by("order", "code")
            ]
        self.fields["reliability"].error_messages["invalid_choice"] = _(
            "%(value)s is not a grade A–F."
        )
        self.fields["within_km"].error_messages["invalid"] = _("Enter a whole number of km.")

    def _partial(self, name: str) -> dates.PartialDate | None:
        text = self.cleaned_data[name].strip()
        if not text:
            return None
        try:
            return dates.parse_partial_date(text)
        except dates.DateError as exc:
            raise forms.ValidationError(date_message(exc), code=exc.code) from None

    def clean_date_from(self):
        return self._partial("date_from")

    def clean_date_to(self):
        return self._partial("date_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end.latest() < start.earliest():
            self.add_error("date_to", _("To: the end cannot be before the start (From)."))
        if data.get("within_km") and not (data.get("place") or "").strip():
            self.add_error("place", _("Give the place the distance is measured from."))
        return data


class TermForm(forms.Form):
    """A new term of a vocabulary (administrators)."""

    code = forms.SlugField(
        label=_("Code"),
        max_length=64,
        help_text=_("Lower case letters, digits and _, e.g. border_guard. Cannot change later."),
    )
    label_ko = forms.CharField(label=_("Korean label"), max_length=200)
    label_en = forms.CharField(label=_("English label"), max_length=200)


class PlaceForm(forms.Form):
    """A new place of the gazetteer (administrators)."""

    KINDS = [
        ("province", _("Province")),
        ("city", _("City")),
        ("county", _("County")),
        ("crossing", _("Crossing point")),
        ("detention", _("Detention facility")),
        ("transit", _("Transit point")),
    ]
    code = forms.SlugField(
        label=_("Code"),
        max_length=64,
        help_text=_("Country, hyphen, name, e.g. cn-sanhe. Cannot change later."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=KINDS)
    country = forms.CharField(
        label=_("Country"),
        min_length=2,
        max_length=2,
        help_text=_("Two letters (ISO 3166-1): KP, CN, KR, LA, TH …"),
    )
    label_ko = forms.CharField(label=_("Korean name"), max_length=200)
    label_en = forms.CharField(label=_("English name"), max_length=200)
    label_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)
    aliases = forms.CharField(
        label=_("Other names"),
        max_length=500,
        required=False,
        help_text=_("Separated by commas: other spellings, old names."),
    )
    lat = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180)

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if not country.isalpha():
            raise forms.ValidationError(_("Two letters, e.g. CN."))
        return country

    def clean_aliases(self) -> list[str]:
        return [a.strip() for a in self.cleaned_data["aliases"].split(",") if a.strip()]


class EventShareForm(forms.Form):
    """Share an event with another organisation (the rules are `services.share_event`'s)."""

    organisation: forms.ModelChoiceField = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=None,
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the organisations listed.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "The other organisation reads the event, its acts, sources and the evidence's "
            "details, never changes them. A victim is named to it only if that person is "
            "shared with it too; the title and description are shown as written."
        ),
    )

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["organisation"]).queryset = organisations
