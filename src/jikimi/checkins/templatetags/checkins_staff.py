"""Words for the check-in staff pages: a schedule, a ladder step's delay and recipient, a
channel, a check-in's outcome — never the stored code."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from jikimi.alerts.models import Target

from ..forms import CHANNEL_LABELS
from ..models import CheckInKind

register = template.Library()

WEEKDAYS = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


@register.filter
def duration(minutes) -> str:
    """360 → "6 hours", 1440 → "1 day", 90 → "1 h 30 min", 0 → "at once"."""
    try:
        minutes = int(minutes)
    except (TypeError, ValueError):
        return "—"
    if minutes == 0:
        return gettext("at once")
    days, rest = divmod(minutes, 1440)
    if days and not rest:
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    hours, mins = divmod(minutes, 60)
    if hours and not mins:
        return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}
    if hours:
        return gettext("%(h)s h %(m)s min") % {"h": hours, "m": mins}
    return gettext("%(n)s min") % {"n": mins}


@register.filter
def target_label(code: str) -> str:
    try:
        return str(Target(code).label)
    except ValueError:
        return code


@register.filter
def channel_label(code: str) -> str:
    return str(CHANNEL_LABELS.get(code, code))


@register.filter
def checkin_label(code: str) -> str:
    try:
        return str(CheckInKind(code).label)
    except ValueError:
        return code


@register.filter
def schedule_text(enrolment) -> str:
    """ "Every 24 hours" or "Mon 09:00, Thu 18:30"."""
    if enrolment.interval_hours:
        n = enrolment.interval_hours
        return ngettext("Every %(n)s hour", "Every %(n)s hours", n) % {"n": n}
    slots = []
    for weekday, hhmm in enrolment.weekly_slots or []:
        try:
            slots.append(f"{WEEKDAYS[int(weekday)]} {hhmm}")
        except (ValueError, IndexError, TypeError):
            slots.append(f"{weekday} {hhmm}")
    return ", ".join(slots) or "—"


@register.filter
def step_after(minutes) -> str:
    """When a ladder step comes: "At once", "After 6 hours"."""
    try:
        if int(minutes) == 0:
            return gettext("At once")
    except (TypeError, ValueError):
        return "—"
    return gettext("After %(d)s") % {"d": duration(minutes)}


@register.filter
def status_class(status: str) -> str:
    return {"active": "ok", "paused": "warn", "setup": "info"}.get(status, "")
