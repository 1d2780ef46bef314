"""The kinds of alert, registered by the app that raises them (DESIGN §5).

Each app calls `register_kind` from its `AppConfig.ready()`; alerts itself knows no kind,
so a new capability (cases, early warning) adds its alerts without changing this app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.functional import Promise

if TYPE_CHECKING:
    from .models import Alert


@dataclass(frozen=True)
class AlertKindSpec:
    code: str
    label: str | Promise  # shown on the board (translated)
    priority: int  # 0 = highest
    # Staff e-mails are bilingual plain strings (no gettext per message: the monitor writes
    # thousands per pass). Defaults to the code.
    email_label: str = ""
    # An open alert of this kind puts its person at risk: linkage puts their pairs first.
    person_at_risk: bool = False
    # Where the board links the alert's subject (e.g. a check-in enrolment's timeline).
    subject_url: Callable[[Alert], str] | None = None


_KINDS: dict[str, AlertKindSpec] = {}


def register_kind(
    code: str,
    label: str | Promise,
    *,
    priority: int,
    email_label: str = "",
    person_at_risk: bool = False,
    subject_url: Callable[[Alert], str] | None = None,
) -> AlertKindSpec:
    """Register (or, on a repeated `ready()`, re-register identically) an alert kind."""
    if len(code) > 20:
        raise ValueError(f"alert kind {code!r}: at most 20 characters")
    spec = AlertKindSpec(code, label, priority, email_label, person_at_risk, subject_url)
    known = _KINDS.get(code)
    if known is not None and (known.priority, known.person_at_risk) != (
        priority,
        person_at_risk,
    ):
        raise ValueError(f"alert kind {code!r} is already registered differently")
    _KINDS[code] = spec
    return spec


def kind(code: str) -> AlertKindSpec:
    """The registered kind; KeyError names an alert nobody registered (a programming error)."""
    try:
        return _KINDS[code]
    except KeyError:
        raise KeyError(f"alert kind {code!r} is not registered") from None


def kinds() -> list[AlertKindSpec]:
    return sorted(_KINDS.values(), key=lambda k: (k.priority, k.code))


def label(code: str) -> str:
    spec = _KINDS.get(code)
    return str(spec.label) if spec else code


def at_risk_kinds() -> list[str]:
    return [k.code for k in _KINDS.values() if k.person_at_risk]
