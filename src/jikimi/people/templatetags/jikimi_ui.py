"""Small display helpers for the staff pages about people (the people and linkage pages)."""

from __future__ import annotations

from django import template

from ..forms import province_label

register = template.Library()


@register.filter
def province_name(code: str | None) -> str:
    """KP-09 → "함경북도" / "North Hamgyong"; anything else is shown as stored."""
    return province_label(code) if code else ""
