"""How long ago an alert was raised, in words ("12분 전" / "12 min ago"): the board's
reader wants the age at a glance; the moment itself is shown beside it with `|when`."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.translation import gettext, ngettext

register = template.Library()


@register.filter
def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if not value:
        return "—"
    seconds = max(0, int(((now or timezone.now()) - value).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 1:
        return gettext("just now")
    if minutes < 60:
        return ngettext("%(n)s min ago", "%(n)s min ago", minutes) % {"n": minutes}
    if hours < 48:
        return ngettext("%(n)s hour ago", "%(n)s hours ago", hours) % {"n": hours}
    return ngettext("%(n)s day ago", "%(n)s days ago", days) % {"n": days}
