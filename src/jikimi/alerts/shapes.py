"""The shapes of the JSON this app stores (no personal data in any of them)."""

from __future__ import annotations

from typing import NotRequired, TypedDict


class PolicyStep(TypedDict):
    """One rung of an escalation ladder: notify `to` once `after_minutes` have passed since
    the alert's escalation started (for a missed check-in: due time + grace)."""

    after_minutes: int
    to: str  # a Target value


# An alert's `detail`: ids, public codes, counts, scores — never a name, phone or address.
# Each app owns the shape of its kinds' detail (see checkins.types, linkage); these are the
# kinds alerts registers for notify.
AlertDetail = dict[str, str | int | float | bool | None]


class ChannelFailureDetail(TypedDict):
    channel_kind: str
    channel: str


class QuotaBlockedDetail(TypedDict):
    month: str


class LadderState(TypedDict):
    """Where an alert's ladder stands (the generic ladder keeps it on the alert)."""

    step: int
    round: int
    last_notified_at: NotRequired[str | None]
