"""The audit page's filter form (GET: what it holds is codes, ids and dates, no personal data).

Each message names its field by the label the auditor sees. A form that does not validate
filters nothing: the page shows the log as if unfiltered and says which value was refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jikimi.core import codes

from . import labels
from .services import SYSTEM_ACTOR, EventFilter


class DateInput(forms.DateInput):
    # A text field, not <input type=date>, as for the pause date in checkins: Chromium writes
    # a date field in the browser's locale (mm/dd/yyyy on an English system), whatever the
    # page's language. The format is shown as placeholder and as a visible hint.
    input_type = "text"

    def __init__(self):
        super().__init__(
            format="%Y-%m-%d",
            attrs={
                "placeholder": "YYYY-MM-DD",
                "pattern": r"\d{4}-\d{2}-\d{2}",
                "inputmode": "numeric",
                "autocomplete": "off",
                "size": "12",
            },
        )


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    ref = forms.CharField(
        label=_("Person code or object"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "P-7KQ2-M9XD", "autocomplete": "off"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=DateInput(), input_formats=["%Y-%m-%d"]
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=DateInput(), input_formats=["%Y-%m-%d"]
    )

    def __init__(self, *args, actors: Sequence[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["actor"]).choices = [
            ("", _("Anyone")),
            (SYSTEM_ACTOR, _("The system (no staff member)")),
            *[(str(pk), name) for pk, name in actors],
        ]
        self.fields["actor"].error_messages["invalid_choice"] = _(
            "Who: choose a staff member of your organisation from the list."
        )
        cast(forms.ChoiceField, self.fields["action"]).choices = [
            ("", _("Any action")),
            *labels.action_choices(),
        ]
        self.fields["action"].error_messages["invalid_choice"] = _(
            "Action: choose an action from the list."
        )
        self.fields["ref"].error_messages["max_length"] = _(
            "Person code or object: enter a code such as P-7KQ2-M9XD."
        )
        for name, label in (("date_from", _("From")), ("date_to", _("To"))):
            self.fields[name].error_messages["invalid"] = _(
                "%(field)s: enter a date such as 2026-12-02."
            ) % {"field": label}
            self.fields[name].help_text = _("Year-month-day, such as %(example)s.") % {
                "example": timezone.localdate().isoformat()
            }

    def clean_ref(self) -> str:
        ref = self.cleaned_data["ref"].strip()
        if ref.upper().startswith("P-"):  # person codes are stored upper case
            ref = ref.upper()
        if ref and not codes.is_code_or_id(ref):
            raise forms.ValidationError(
                _("Person code or object: enter a code such as P-7KQ2-M9XD."), code="invalid"
            )
        return ref

    def clean(self):
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("To: the last day cannot be before the first day (From)."))
        return data

    def event_filter(self) -> EventFilter:
        """The filter the valid form describes (call after is_valid)."""
        data = self.cleaned_data

        def midnight(day: dt.date) -> dt.datetime:  # in the organisation's time zone
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

        start, end = data.get("date_from"), data.get("date_to")
        return EventFilter(
            actor=data.get("actor") or "",
            action=data.get("action") or "",
            object_ref=data.get("ref") or "",
            since=midnight(start) if start else None,
            until=midnight(end + dt.timedelta(days=1)) if end else None,
        )
