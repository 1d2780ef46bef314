"""Forms of the login flow and the account pages."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _


class PasswordStepForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeStepForm(forms.Form):
    code = forms.RegexField(
        label=_("6-digit code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits your authenticator app shows.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "maxlength": "6",
                "autofocus": True,
            }
        ),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


# --- Organisation administration ----------------------------------------------------------


def _language_choices():
    from django.conf import settings

    return [(code, _(str(name))) for code, name in settings.LANGUAGES]


class InviteForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only. The person signs in with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_("The invitation link is sent here."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("Role"))
    # Not "language": the language switch in the page header is a field of that name.
    mail_language = forms.ChoiceField(label=_("Language of the e-mail"))

    def __init__(self, *args, **kwargs):
        from .models import Role

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = Role.choices
        self.fields["role"].initial = Role.CASEWORKER
        cast(forms.ChoiceField, self.fields["mail_language"]).choices = _language_choices()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, **kwargs):
        from .models import Role

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = Role.choices


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))


class OrganisationSettingsForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Times on every page, and new check-in schedules, use this time zone."),
    )
    suppress_below = forms.IntegerField(
        label=_("Suppression threshold"),
        min_value=2,
        max_value=100,
        help_text=_(
            "Published counts from 1 up to one below this number are shown as “<N”, so that "
            "no small group can be singled out."
        ),
    )
    sms_monthly_quota = forms.IntegerField(
        label=_("Monthly SMS quota"),
        min_value=0,
        required=False,
        help_text=_(
            "At most this many SMS a month for the whole organisation; a message over it is "
            "held and staff are alerted. Empty: only an SMS gateway's own quota applies."
        ),
    )

    def __init__(self, *args, **kwargs):
        from .services import time_zones

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["time_zone"]).choices = [(z, z) for z in time_zones()]


class NewPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        max_length=1024,
        strip=False,
        help_text=_("At least 12 characters; not a common password or your user name."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
    )
    password_again = forms.CharField(
        label=_("New password again"),
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
