"""The organisation administration pages (/admin/): staff, roles, deactivation, second-factor
resets and the organisation's settings. The sharing grants page is people's (people sits
above accounts): people.views.admin_grants at /admin/grants/.

Thin: who may do what, the audit rows and the last-administrator rule are in
accounts.services. Anyone but an administrator of the organisation gets 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from jikimi.core.errors import NON_FIELD, InvalidInput

from . import services
from .forms import EmailForm, InviteForm, OrganisationSettingsForm, RoleForm
from .http import StaffRequest
from .models import Role
from .views import reauth_redirect

STATUS_BADGES = {
    services.StaffStatus.ACTIVE: ("ok", gettext_lazy("Active")),
    services.StaffStatus.INVITED: ("info", gettext_lazy("Invited")),
    services.StaffStatus.NO_SECOND_FACTOR: ("warn", gettext_lazy("No authenticator")),
    services.StaffStatus.DEACTIVATED: ("danger", gettext_lazy("Deactivated")),
}


def status_badge(member) -> dict:
    status = services.staff_status(member)
    kind, label = STATUS_BADGES[status]
    return {"status": status, "kind": kind, "label": str(label)}


def _attach(form, exc: InvalidInput) -> None:
    for field, message in exc.messages().items():
        form.add_error(field if field in form.fields else None, message)


def _ask_password_again(request: StaffRequest, next_url: str) -> HttpResponse:
    messages.warning(
        request, _("This action needs your password again. Confirm it, then repeat the action.")
    )
    return reauth_redirect(next_url)


@login_required
def admin_index(request: StaffRequest) -> HttpResponse:
    services.require_admin(request.user)
    counts: dict[str, int] = {}
    for member in services.members(request.user):
        status = services.staff_status(member)
        counts[status] = counts.get(status, 0) + 1
    return render(
        request,
        "accounts/admin/index.html",
        {
            "organisation": request.user.organisation,
            "counts": [
                (STATUS_BADGES[s][0], str(STATUS_BADGES[s][1]), counts.get(s, 0))
                for s in STATUS_BADGES
            ],
            "tab": "index",
        },
    )


@login_required
def staff_list(request: StaffRequest) -> HttpResponse:
    rows = [{"member": m, "badge": status_badge(m)} for m in services.members(request.user)]
    return render(request, "accounts/admin/staff.html", {"rows": rows, "tab": "staff"})


@login_required
@require_http_methods(["GET", "POST"])
def staff_invite(request: StaffRequest) -> HttpResponse:
    services.require_admin(request.user)
    form = InviteForm(request.POST or None, initial={"mail_language": request.LANGUAGE_CODE})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                data = form.cleaned_data
                member = services.invite_staff(
                    request.user,
                    username=data["username"],
                    email=data["email"],
                    role=data["role"],
                    language=data["mail_language"],
                    reauthenticated=services.recently_authenticated(request),
                )
            except services.ReauthRequired:
                return _ask_password_again(request, reverse("orgadmin:invite"))
            except InvalidInput as exc:
                if "language" in exc.errors:
                    exc.errors["mail_language"] = exc.errors.pop("language")
                _attach(form, exc)
            else:
                messages.success(
                    request,
                    _("%(username)s is invited: the link is on its way by e-mail.")
                    % {"username": member.username},
                )
                return redirect("orgadmin:member", member.pk)
        status = 400
    return render(
        request, "accounts/admin/invite.html", {"form": form, "tab": "staff"}, status=status
    )


ACTIONS = {"role", "email", "deactivate", "reactivate", "reset_second_factor", "resend_link"}
DONE = {
    "role": gettext_lazy("The role is changed."),
    "email": gettext_lazy("The e-mail address is changed."),
    "deactivate": gettext_lazy(
        "The account is deactivated. Its sessions and API tokens no longer work."
    ),
    "reactivate": gettext_lazy("The account is active again."),
    "reset_second_factor": gettext_lazy(
        "The second factor is reset. The person was told by e-mail and received a link to "
        "set up a new authenticator."
    ),
    "resend_link": gettext_lazy("A new link is on its way by e-mail. The old one no longer works."),
}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def staff_member(request: StaffRequest, user_id: int) -> HttpResponse:
    admin = request.user
    member = services.get_member(admin, user_id)  # another organisation's user: 404
    here = reverse("orgadmin:member", args=[member.pk])
    role_form = RoleForm(initial={"role": member.role})
    email_form = EmailForm(initial={"email": member.email})
    error, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            return HttpResponse(status=400)
        fresh = services.recently_authenticated(request)
        try:
            if action == "role":
                role_form = RoleForm(request.POST)
                if not role_form.is_valid():
                    raise InvalidInput({"role": _("Choose one of the roles in the list.")})
                services.change_role(
                    admin, member, role_form.cleaned_data["role"], reauthenticated=fresh
                )
            elif action == "email":
                email_form = EmailForm(request.POST)
                if not email_form.is_valid():
                    raise InvalidInput({"email": _("Enter a valid e-mail address.")})
                services.change_email(admin, member, email_form.cleaned_data["email"])
            elif action == "deactivate":
                services.deactivate(admin, member, reauthenticated=fresh)
            elif action == "reactivate":
                services.reactivate(admin, member)
            elif action == "reset_second_factor":
                services.reset_second_factor(admin, member, reauthenticated=fresh)
            else:
                services.resend_link(admin, member)
        except services.ReauthRequired:
            return _ask_password_again(request, here)
        except InvalidInput as exc:
            found = exc.messages()
            if action == "role" and "role" in found:
                role_form.add_error("role", found.pop("role"))
            if action == "email" and "email" in found:
                email_form.add_error("email", found.pop("email"))
            elif "email" in found:  # e.g. a reset for an account with no address: say so
                found["email"] = f"{_('E-mail address')}: {found['email']}"
            error = " ".join(found.values())
            status = 400
        else:
            messages.success(request, str(DONE[action]))
            return redirect(here)
    member = services.get_member(admin, user_id)
    return render(
        request,
        "accounts/admin/member.html",
        {
            "member": member,
            "badge": status_badge(member),
            "device": services.totp_device(member),
            "role_form": role_form,
            "email_form": email_form,
            "error": error,
            "is_self": member.pk == admin.pk,
            "fresh": services.recently_authenticated(request),
            "admin_role": Role.ADMIN,
            "tab": "staff",
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_settings(request: StaffRequest) -> HttpResponse:
    services.require_admin(request.user)
    org = request.user.organisation
    assert org is not None  # an administrator always has one (User.org_id)
    form = OrganisationSettingsForm(
        request.POST or None,
        initial={
            "time_zone": services.time_zone_of(org),
            "suppress_below": services.suppression_threshold(org),
            "sms_monthly_quota": org.sms_monthly_quota,
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_organisation_settings(request.user, **form.cleaned_data)
            except InvalidInput as exc:
                _attach(form, exc)
            else:
                messages.success(request, _("The organisation's settings are saved."))
                return redirect("orgadmin:settings")
        status = 400
    return render(
        request,
        "accounts/admin/settings.html",
        {"form": form, "organisation": org, "tab": "settings", "non_field": NON_FIELD},
        status=status,
    )
