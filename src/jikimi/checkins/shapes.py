"""The shapes of check-ins' alerts' `detail` (no personal data: the person is the alert's
subject, never named here)."""

from __future__ import annotations

from typing import TypedDict


class DuressDetail(TypedDict):
    channel: str  # web, sms
    requested: str  # what the person asked for under duress (pause, withdraw), never applied


class MissedDetail(TypedDict):
    due: str  # the missed deadline, ISO 8601


class WrongPinsDetail(TypedDict):
    count: int  # wrong (and refused) PINs recorded in the window
