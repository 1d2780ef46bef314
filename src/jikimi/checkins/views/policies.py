"""Escalation policy templates: list, create, change (DESIGN §4).

Creating or changing a policy — and moving an enrolment to another policy — is a
sensitive action (DESIGN §3): the page asks for the password again
(`accounts.recently_authenticated`, else a redirect to /accounts/reauth?next=…).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from jikimi.accounts import services as accounts
from jikimi.accounts.models import Role
from jikimi.accounts.views import reauth_redirect
from jikimi.people.services import InvalidInput

from .. import services
from ..forms import TARGETS, PolicyForm, step_rows
from . import staff_view

EDITORS = (Role.ADMIN, Role.SUPERVISOR)


def text_to_steps(text: str) -> list:
    """One step a line: `<minutes after the miss> <target>`, e.g. `360 supervisors` (the
    form's former text field, still accepted from scripts)."""
    steps = []
    for i, line in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise InvalidInput(
                {"steps": _("Line %(n)s: minutes, a space, then whom.") % {"n": i + 1}}
            )
        steps.append({"after_minutes": int(parts[0]), "to": parts[1]})
    return steps


def rows_to_steps(minutes: list[str], targets: list[str]) -> list:
    """The form's rows (minutes, whom); a row with neither is left out."""
    steps = []
    for i, (after, to) in enumerate(zip(minutes, targets, strict=False)):
        after, to = after.strip(), to.strip()
        if not after and not to:
            continue
        if not after.isdigit():
            raise InvalidInput(
                {"steps": _("Step %(n)s: the minutes must be a whole number.") % {"n": i + 1}}
            )
        steps.append({"after_minutes": int(after), "to": to})
    return steps


def posted_steps(post) -> list:
    if "steps" in post:
        return text_to_steps(post.get("steps", ""))
    return rows_to_steps(post.getlist("step_minutes"), post.getlist("step_to"))


@staff_view
def policy_list(request):
    return render(
        request,
        "checkins/policies.html",
        {
            "policies": services.policies_for(request.user),
            "can_edit": request.user.role in EDITORS,
        },
    )


@staff_view
@require_http_methods(["GET", "POST"])
def policy_edit(request, policy_id: int | None = None):
    accounts.require_role(request.user, *EDITORS)
    policy = services.get_policy(request.user, policy_id) if policy_id is not None else None
    here = request.path
    if not accounts.recently_authenticated(request):
        return reauth_redirect(here)  # a POST after the window lapsed: re-enter, then retry
    initial = {
        "name": policy.name if policy else "",
        "repeat_minutes": policy.repeat_minutes if policy else 60,
        "remind_person_at_due": policy.remind_person_at_due if policy else True,
    }
    steps = policy.steps if policy else services.DEFAULT_LADDER
    form = PolicyForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        steps = [
            {"after_minutes": m, "to": t}
            for m, t in zip(
                request.POST.getlist("step_minutes"), request.POST.getlist("step_to"), strict=False
            )
            if m.strip() or t.strip()
        ]
        try:
            parsed = posted_steps(request.POST)
        except InvalidInput as exc:
            form.is_valid()
            form.attach(exc.messages())
        else:
            if "steps" in request.POST:
                steps = parsed
            if form.is_valid():
                fields = {**form.cleaned_data, "steps": parsed}
                try:
                    if policy is None:
                        services.create_policy(request.user, **fields)
                    else:
                        services.update_policy(request.user, policy, **fields)
                except InvalidInput as exc:
                    form.attach(exc.messages())
                else:
                    messages.success(request, _("The escalation policy was saved."))
                    return redirect("checkins:policies")
    return render(
        request,
        "checkins/policy_form.html",
        {"policy": policy, "form": form, "rows": step_rows(steps), "targets": TARGETS},
        status=status,
    )
