"""Dates, times and numbers as each locale writes them, in a <time> element that never breaks
over two lines. Every staff page uses these rather than `|date:"…"` with a format of its own:

    {% load jikimi_format %}
    {{ alert.raised_at|when }}   → 2026. 12. 2. 14:07  /  2 Dec 2026, 14:07
    {{ grant.granted_at|day }}   → 2026. 12. 2.        /  2 Dec 2026
    {{ n|number }}               → 12,345 (both)

Times are shown in the current time zone (the organisation's, set by the middleware), on a
24-hour clock: "5:07 오전" is easy to misread at a glance."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import get_language

register = template.Library()

_FORMATS = {
    # (date, date and time)
    "ko": ("Y. n. j.", "Y. n. j. H:i"),
    "en": ("j M Y", "j M Y, H:i"),
}


def _formats() -> tuple[str, str]:
    return _FORMATS.get((get_language() or "ko")[:2], _FORMATS["en"])


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


@register.filter
def when(value: dt.datetime | None) -> str:
    """A moment: date and 24-hour time, or "—" when there is none."""
    if not value:
        return "—"
    value = _local(value)
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), date_format(value, _formats()[1])
    )


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    """A day, or "—" when there is none."""
    if not value:
        return "—"
    if isinstance(value, dt.datetime):
        value = _local(value)
        iso = value.date().isoformat()
    else:
        iso = value.isoformat()
    return format_html('<time datetime="{}">{}</time>', iso, date_format(value, _formats()[0]))


@register.filter
def number(value: int | float | None, digits: int | None = None) -> str:
    """A number with thousands separators (the same in Korean and English); `digits` fixes
    the decimals. "—" for None."""
    if value is None or value == "":
        return "—"
    if digits is None:
        return f"{value:,}"
    return f"{float(value):,.{int(digits)}f}"
