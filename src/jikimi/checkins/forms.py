"""Forms of the check-in staff pages (enrol, pause, withdraw, escalation policy). They only
shape input; the validation that matters is in the services, whose errors (InvalidInput,
keyed by field, messages translated per request) are put on the fields here, and every
message is listed once more with its field's label above the form (`error_summary`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jikimi.alerts.models import Target

CHANNEL_LABELS = {"web": _("Web link"), "sms": _("SMS"), "email": _("E-mail")}
LANGUAGES = [("ko", "한국어"), ("en", "English")]

# Service error keys that are no field of the form: the label they are listed under.
OTHER_LABELS = {
    "consent": _("Consent"),
    "schedule": _("Schedule"),
    "person": _("Person"),
    "status": _("Enrolment"),
    "form": _("Form"),
    "steps": _("Steps"),
    "until": _("Pause until"),
    "reason": _("Reason"),
    "policy": _("Escalation policy"),
}


class StaffForm(forms.Form):
    """A form whose service errors go on their fields, or, for a key that is no field (the
    person's consent, the schedule as a whole), into `other_errors` under a label."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.other_errors: dict[str, str] = {}

    def attach(self, errors: dict) -> None:
        for key, message in errors.items():
            if key in self.fields:
                self.add_error(key, str(message))
            else:
                self.other_errors[key] = str(message)

    def error_summary(self) -> list[tuple[str, str]]:
        """(label, message) for every error, in the form's order, then the others."""
        rows = [
            (str(self.fields[name].label), str(message))
            for name in self.fields
            for message in self.errors.get(name, [])
        ]
        rows += [(str(_("Form")), str(m)) for m in self.non_field_errors()]
        rows += [(str(OTHER_LABELS.get(k, k)), str(m)) for k, m in self.other_errors.items()]
        return rows


class EnrolForm(StaffForm):
    interval_hours = forms.IntegerField(
        # Ranges are the service's to check (its message, with the others at once).
        required=False,
        label=_("Check in every (hours)"),
        help_text=_("For example 24: once a day, counted from the last check-in."),
    )
    weekly_slots = forms.CharField(
        required=False,
        max_length=200,
        label=_("Or at fixed weekly times"),
        help_text=_(
            "A weekday number and a time, separated by commas: 0 09:00, 3 18:30 "
            "(0 = Monday, 6 = Sunday)."
        ),
    )
    timezone = forms.CharField(
        initial="Asia/Seoul",
        max_length=64,
        label=_("Time zone"),
        help_text=_("The person's time zone, such as Asia/Seoul."),
    )
    grace_minutes = forms.IntegerField(
        initial=60,
        label=_("Grace period (minutes)"),
        help_text=_("How long after the due time staff are alerted."),
    )
    channels = forms.MultipleChoiceField(
        choices=list(CHANNEL_LABELS.items()),
        initial=["web"],
        widget=forms.CheckboxSelectMultiple,
        label=_("Channels"),
    )
    phone = forms.CharField(
        required=False,
        max_length=40,
        label=_("Phone (for SMS)"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        required=False,
        label=_("E-mail (for e-mail)"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    policy = forms.ChoiceField(required=False, label=_("Escalation policy"))
    language = forms.ChoiceField(
        required=False,
        choices=LANGUAGES,
        initial="ko",
        label=_("Language of the person's messages"),
    )
    is_drill = forms.BooleanField(
        required=False,
        label=_("Drill (practice) mode"),
        help_text=_(
            "The person practises: alerts are marked DRILL and no task goes to the authorities."
        ),
    )

    def __init__(self, *args, policies=(), **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["policy"]).choices = [
            (str(p.pk), p.display_name) for p in policies
        ]

    def weekly_slot_list(self) -> list:
        """ "0 09:00, 3 18:30" → [["0", "09:00"], ["3", "18:30"]] (the service checks them)."""
        slots = []
        for part in (self.cleaned_data.get("weekly_slots") or "").split(","):
            if part.strip():
                weekday, _sep, hhmm = part.strip().partition(" ")
                slots.append([weekday, hhmm.strip()])
        return slots


DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PauseForm(StaffForm):
    # A text field, not <input type=date>: Chromium writes a date field in the browser's
    # locale (mm/dd/yyyy on an English system), whatever the page's language.
    until = forms.CharField(
        max_length=10,
        label=_("Pause until"),
        widget=forms.TextInput(
            attrs={
                "placeholder": "YYYY-MM-DD",
                "pattern": r"\d{4}-\d{2}-\d{2}",
                "inputmode": "numeric",
                "autocomplete": "off",
                "size": "12",
            }
        ),
    )
    reason = forms.CharField(max_length=500, label=_("Reason for the pause"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        example = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
        self.fields["until"].help_text = _(
            "Year-month-day, such as %(example)s. Check-ins start again that day at 09:00."
        ) % {"example": example}
        self.example = example

    def clean_until(self) -> dt.date:
        value = self.cleaned_data["until"].strip()
        try:
            if not DAY_RE.match(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise forms.ValidationError(
                _("Write the day as YYYY-MM-DD, such as %(example)s.") % {"example": self.example}
            ) from None


class WithdrawForm(StaffForm):
    reason = forms.CharField(max_length=500, label=_("Reason for stopping"))


class PolicyForm(StaffForm):
    """A name, the steps (one row each: minutes after the start, whom), the reminder
    interval. Rows whose recipient is left empty are dropped."""

    ROWS_EXTRA = 2

    name = forms.CharField(max_length=100, label=_("Name"))
    repeat_minutes = forms.IntegerField(
        label=_("Remind every (minutes) until acknowledged"),
        help_text=_("Everyone already notified hears again at this interval."),
    )
    remind_person_at_due = forms.BooleanField(
        required=False, label=_("Remind the person when a check-in is due")
    )


def step_rows(steps: list, extra: int = PolicyForm.ROWS_EXTRA) -> list[dict]:
    """The rows the policy form shows: the steps, then `extra` empty rows to add more."""
    rows = [{"minutes": s.get("after_minutes", ""), "to": s.get("to", "")} for s in steps]
    return rows + [{"minutes": "", "to": ""}] * extra


TARGETS = [(t.value, t.label) for t in Target]
