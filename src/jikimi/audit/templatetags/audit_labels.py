"""How an audit row reads on a page (the audit log, a person's audit trail):

{% load audit_labels %}
{{ e.action|action_label }}   → "Person record viewed" / "대상자 기록 열람"
{{ e.action|action_named }}   → whether the code has a label (else the code is the label)
{{ e.object_type|object_label }}
{% for k, v in e.detail|detail_items %}…{% endfor %}
"""

from __future__ import annotations

from django import template

from .. import labels

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return labels.action_label(code)


@register.filter
def action_named(code: str) -> bool:
    return code in labels.ACTIONS


@register.filter
def chain_reason(reason: str) -> str:
    return labels.chain_reason(reason)


@register.filter
def object_label(kind: str) -> str:
    return labels.object_label(kind)


@register.filter
def detail_items(detail) -> list[tuple[str, str]]:
    """Each detail key with its value as text (a list: its items joined by commas)."""
    out = []
    for key, value in (detail or {}).items():
        if isinstance(value, list | tuple):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        out.append((str(key), str(value)))
    return out
