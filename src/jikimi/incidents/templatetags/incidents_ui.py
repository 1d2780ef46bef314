"""Display helpers of the incident pages: a term or a place in the page's language, and an
event's date as precise as it is known ("2018-06", "c. 2018", "2017-07-15 – 2017-07-16")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from django import template
from django.utils.html import escape, format_html, format_html_join
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


def _joined(separator: str, parts: Sequence[str], empty: str) -> str:
    """Safe HTML parts (each escaped as it was built) joined, or `empty` for none."""
    return format_html_join(separator, "{}", ((p,) for p in parts)) if parts else empty


def _grade_badge(information: Any) -> str:
    """One information link's grade badge, as `_grade.html` renders it."""
    reliability = information.reliability or ""
    credibility = information.credibility or ""
    if not (reliability or credibility):
        return format_html('<span class="badge">{}</span>', _("ungraded"))
    title = " · ".join(
        t
        for t in (
            reliability_label(reliability) if reliability else "",
            credibility_label(credibility) if credibility else "",
        )
        if t
    )
    return format_html(
        '<span class="badge {}" title="{}">{}{}</span>',
        grade_class(information),
        title,
        reliability or "–",
        credibility or "–",
    )


@register.simple_tag
def act_rows(rows: Any, titles: Any, show_event: bool = False, open_cases: bool = False) -> str:
    """The <tr> of each act of `_acts.html` (services.ActRow), built here rather than by the
    template language: at 50 rows a page, its nested loops, includes and {% url %} tags were
    most of the page's time. The same markup the template wrote."""
    from django.template.defaultfilters import floatformat, urlencode
    from django.urls import reverse

    # The links differ by the code only: each reversed once, the code put in its place.
    event_href = reverse("incidents:detail", args=["CODE"]).replace("CODE", "{}")
    person_href = reverse("people:detail", args=["CODE"]).replace("CODE", "{}")
    new_case = reverse("cases:new") if open_cases else ""
    open_case, dash, line_break = _("Open a case"), "—", format_html("<{}>", "br")
    hidden_victim = _("a victim not shared with you")
    shared = _("Shared with you")
    out = []
    for r in rows:
        cells = [format_html('<td class="date">{}</td>', event_date(r))]
        if show_event:
            # An act of an event another organisation shared: said on the row, as the event
            # page's banner says it.
            mark = format_html(' <span class="badge info">{}</span>', shared) if r.shared else ""
            title = titles.get(r.event, "") if hasattr(titles, "get") else ""
            if title:
                cells.append(
                    format_html(
                        '<td><a href="{}">{}</a>{}<br><small class="code muted">{}</small></td>',
                        event_href.format(quote(r.event, safe="")),
                        title,
                        mark,
                        r.event,
                    )
                )
            else:
                cells.append(
                    format_html(
                        '<td><a href="{}"><span class="code">{}</span></a>{}</td>',
                        event_href.format(quote(r.event, safe="")),
                        r.event,
                        mark,
                    )
                )
        if r.place:
            cells.append(format_html("<td>{}</td>", r.place.label))
        elif r.lat is not None:
            cells.append(
                format_html(
                    '<td><span class="nowrap">{}, {}</span></td>',
                    floatformat(r.lat, 2),
                    floatformat(r.lon, 2),
                )
            )
        else:
            cells.append(format_html("<td>{}</td>", dash))
        if r.victim_hidden:
            victim = format_html('<span class="muted">{}</span>', hidden_victim)
        else:
            victim = format_html(
                '<a class="code" href="{}">{}</a>',
                person_href.format(quote(r.victim, safe="")),
                r.victim,
            )
            if r.victim_name:
                victim = format_html("{}<br>{}", victim, r.victim_name)
        cells.append(format_html("<td>{}</td>", victim))
        act = format_html("{}", r.act_type.label)
        if open_cases and not r.shared:  # a case is opened on one's own records only
            act = format_html(
                '{}<br><a class="open-case" href="{}?person={}&amp;event={}&amp;act_type={}">'
                "{}</a>",
                act,
                new_case,
                urlencode(r.victim),
                urlencode(r.event),
                urlencode(r.act_type.code),
                open_case,
            )
        cells.append(format_html("<td>{}</td>", act))
        perpetrators = [
            format_html('{} <small class="muted">({})</small>', i.perpetrator.label, i.degree.label)
            if i.degree
            else format_html("{}", i.perpetrator.label)
            for i in r.involvements
        ]
        cells.append(format_html("<td>{}</td>", _joined(line_break, perpetrators, dash)))
        grades = [_grade_badge(i) for i in r.information]
        cells.append(format_html("<td>{}</td>", _joined(" ", grades, dash)))
        out.append(format_html("<tr>{}</tr>", _joined("", cells, dash)))
    return _joined("\n", out, "")
