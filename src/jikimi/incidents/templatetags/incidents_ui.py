"""Display helpers of the incident pages: a term or a place in the page's language, and an
event's date as precise as it is known ("2018-06", "c. 2018", "2017-07-15 – 2017-07-16")."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _

from jikimi.lib import dates

from ..forms import place_label, term_label
from ..models import Credibility, Reliability

register = template.Library()


@register.filter
def term(value: Any) -> str:
    """A vocabulary term's label in the current language ("" for none)."""
    return term_label(value)


@register.filter
def place(value: Any) -> str:
    """A place's name in the current language ("" for none)."""
    return place_label(value)


@register.filter
def event_date(obj: Any) -> str:
    """An event's or an act's date as written, to its precision: 2018-06-14, 2018-06, 2018,
    a range "2018-06 – 2018-08", and "c. 2018" when it is approximate. Each end never breaks
    over two lines; a range may, between its ends."""
    if obj is None:
        return ""
    text = getattr(obj, "date_text", None) or getattr(obj, "date", "") or ""
    approx = bool(getattr(obj, "date_approx", False))
    try:
        span = dates.parse_date_range(text)
    except dates.DateError:
        start = getattr(obj, "date_start", None)
        shown = format_html('<span class="nowrap">{}</span>', start.isoformat() if start else "—")
    else:
        approx = approx or span.start.approximate or span.end.approximate
        shown = format_html('<span class="nowrap">{}</span>', span.start.iso())
        if span.end != span.start:
            shown = format_html('{} – <span class="nowrap">{}</span>', shown, span.end.iso())
    if approx:
        return format_html(escape(_("c. %(date)s")).replace("%(date)s", "{}"), shown)
    return shown


@register.filter
def grade_class(information: Any) -> str:
    """The badge of a grade: ok for a reliable source with credible information (A–B and
    1–2), warn when either is poor or cannot be judged (E–F, 5–6), info otherwise."""
    reliability = getattr(information, "reliability", "") or ""
    credibility = getattr(information, "credibility", "") or ""
    if reliability in ("E", "F") or credibility in ("5", "6"):
        return "warn"
    if reliability in ("A", "B") and credibility in ("1", "2"):
        return "ok"
    return "info"


@register.filter
def reliability_label(grade: str) -> str:
    """B → "B: usually reliable" (the NATO/Admiralty scale), in the current language."""
    return str(dict(Reliability.choices).get(grade, grade))


@register.filter
def credibility_label(grade: str) -> str:
    return str(dict(Credibility.choices).get(grade, grade))


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key], or "" (a dict the view built, keyed by a value of the row)."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
