"""Small display helpers for the staff pages."""

from __future__ import annotations

from django import template

from jikimi.people.forms import province_label

register = template.Library()


@register.filter
def province_name(code: str | None) -> str:
    """KP-09 → "함경북도" / "North Hamgyong"; anything else is shown as stored."""
    return province_label(code) if code else ""
