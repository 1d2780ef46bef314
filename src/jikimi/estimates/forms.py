"""The estimate form of the analyst page (GET: the choices are no personal data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from .inapp import STRATIFY_CHOICES  # noqa: F401 - the values below must match
from .presentation import METHOD_LABELS

METHOD_CHOICES = list(METHOD_LABELS.items())
LEVEL_CHOICES = [("0.8", "80%"), ("0.9", "90%"), ("0.95", "95%"), ("0.99", "99%")]
STRATIFY_FORM_CHOICES = [
    ("", _("None (total only)")),
    ("defection_year", _("Year of defection")),
    ("province", _("Province of origin")),
    ("birth_decade", _("Decade of birth")),
    ("act_type", _("Act type (incident lists)")),
    ("determination", _("Return determination (incident lists)")),
]


INTERVAL_CHOICES = [
    ("model", _("Conditional on the chosen model (Wald)")),
    ("bootstrap", _("Bootstrap, choosing the model again (BCa)")),
]


class EstimateForm(forms.Form):
    lists = forms.MultipleChoiceField(
        label=_("Lists (sources)"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose at least two. A person linked to others counts once."),
    )
    method = forms.ChoiceField(
        label=_("Method"), choices=METHOD_CHOICES, initial="stepwise", required=False
    )
    level = forms.ChoiceField(
        label=_("Interval level"), choices=LEVEL_CHOICES, initial="0.95", required=False
    )
    stratify_by = forms.ChoiceField(
        label=_("Stratify by"), choices=STRATIFY_FORM_CHOICES, required=False
    )
    interval = forms.ChoiceField(
        label=_("Interval (stepwise)"),
        choices=INTERVAL_CHOICES,
        initial="model",
        required=False,
        help_text=_(
            "The bootstrap repeats the choice of model on resampled tables: slower, and honest "
            "when the choice is in doubt."
        ),
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        required=False,
        min_value=0,
        help_text=_("For the random parts (LCMCR); the same seed gives the same numbers."),
    )

    def __init__(self, *args, available: Sequence[tuple[str, int]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        lists = cast(forms.ChoiceField, self.fields["lists"])
        lists.choices = [(name, f"{name} ({n})") for name, n in available]

    def clean_method(self):
        return self.cleaned_data["method"] or "stepwise"

    def clean_interval(self):
        return self.cleaned_data["interval"] or "model"

    def clean_level(self):
        return self.cleaned_data["level"] or "0.95"

    def clean_lists(self):
        lists = self.cleaned_data["lists"]
        if len(lists) < 2:
            raise forms.ValidationError(_("Choose at least two lists."))
        return lists
