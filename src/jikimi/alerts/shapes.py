"""The shapes of the JSON this app stores (no personal data in any of them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict


class PolicyStep(TypedDict):
    """One rung of an escalation ladder: notify `to` once `after_minutes` have passed since
    the alert's escalation started (for a missed check-in: due time + grace)."""

    after_minutes: int
    to: str  # a Target value


# An alert's `detail`: ids, public codes, counts, scores — never a name, phone or address.
# Each app owns the TypedDict of its kinds' detail (e.g. checkins.shapes); these below are
# the kinds alerts registers for notify.
AlertDetail = Mapping[str, object]


class ChannelFailureDetail(TypedDict):
    channel_kind: str
    channel: str


class QuotaBlockedDetail(TypedDict):
    month: str
