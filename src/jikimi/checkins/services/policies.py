"""Escalation policies for check-ins. The policy templates belong to alerts (any kind may
escalate); check-ins' policy pages and API use alerts' services, re-exported here, plus
the re-authentication they need and moving an enrolment to another policy.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from jikimi.accounts import services as accounts
from jikimi.accounts.models import User
from jikimi.alerts.models import DEFAULT_LADDER as DEFAULT_LADDER
from jikimi.alerts.models import EscalationPolicy
from jikimi.alerts.models import Target as Target
from jikimi.alerts.services import create_policy as create_policy
from jikimi.alerts.services import default_policy as default_policy
from jikimi.alerts.services import get_policy as get_policy
from jikimi.alerts.services import policies_for as policies_for
from jikimi.alerts.services import update_policy as update_policy
from jikimi.alerts.services import validate_steps as validate_steps
from jikimi.audit import services as audit
from jikimi.people.services import InvalidInput

from ..models import (
    Enrolment,
    EnrolmentStatus,
)
from .enrolment import _update, get_enrolment


class PasswordRequired(accounts.AccessDenied):
    """A sensitive action (changing an escalation policy) needs the password again."""


def confirm_password(user: User, password: str) -> None:
    """The API's re-authentication (DESIGN §3): the password in the request body, checked
    by accounts under its lock-out (a locked account is refused; a wrong password counts).
    Pages use the session's recent re-authentication instead."""
    if not user.is_authenticated:
        raise PasswordRequired("the password is required")
    try:
        accounts.check_password_for(user, password)
    except accounts.LoginFailed as exc:
        if exc.reason == "locked":
            raise PasswordRequired("the account is locked") from None
        raise PasswordRequired("this action needs your password (field 'password')") from None


def change_enrolment_policy(user: User, enrolment: Enrolment, policy: EscalationPolicy) -> None:
    """Move an enrolment to another of the organisation's policies (re-authenticated)."""
    enrolment = get_enrolment(user, enrolment.pk)
    policy = get_policy(user, policy.pk)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise InvalidInput({"status": _("The enrolment is withdrawn.")})
    _update(enrolment, policy_id=policy.pk)
    audit.record(
        "checkin_enrolment.policy",
        actor=user,
        object_type="person",
        object_ref=enrolment.person.code,
        detail={"enrolment": str(enrolment.pk), "policy": policy.pk},
    )
