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
from . import staff_view

EDITORS = (Role.ADMIN, Role.SUPERVISOR)


def steps_to_text(steps: list[dict]) -> str:
    return "\n".join(f"{s['after_minutes']} {s['to']}" for s in steps)


def text_to_steps(text: str) -> list:
    """One step a line: `<minutes after the miss> <target>`, e.g. `360 supervisors`."""
    steps = []
    for i, line in enumerate(ln for ln in text.splitlines() if ln.strip()):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise InvalidInput({"steps": f"line {i + 1}: '<minutes> <target>'"})
        steps.append({"after_minutes": int(parts[0]), "to": parts[1]})
    return steps


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
    errors: dict[str, str] = {}
    form = {
        "name": policy.name if policy else "",
        "steps": steps_to_text(policy.steps if policy else services.DEFAULT_LADDER),
        "repeat_minutes": policy.repeat_minutes if policy else 60,
        "remind_person_at_due": policy.remind_person_at_due if policy else True,
    }
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", ""),
            "steps": request.POST.get("steps", ""),
            "repeat_minutes": request.POST.get("repeat_minutes", ""),
            "remind_person_at_due": request.POST.get("remind_person_at_due") == "1",
        }
        try:
            fields = {**form, "steps": text_to_steps(form["steps"])}
            if policy is None:
                services.create_policy(request.user, **fields)
            else:
                services.update_policy(request.user, policy, **fields)
        except InvalidInput as exc:
            errors = exc.errors
        else:
            messages.success(request, _("The escalation policy was saved."))
            return redirect("checkins:policies")
    return render(
        request,
        "checkins/policy_form.html",
        {"policy": policy, "form": form, "errors": errors, "targets": services.Target.values},
        status=400 if errors else 200,
    )
