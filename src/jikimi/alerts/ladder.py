"""The escalation ladder's arithmetic, shared by every kind that escalates.

Pure: given where a ladder stands, it says which steps to notify now and when to look
again. The check-ins monitor keeps a missed check-in's ladder in the enrolment row (a
check-in stops it); the generic pass (`services.escalate_due`) keeps it on the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .models import Target
from .shapes import PolicyStep


@dataclass
class LadderMove:
    # (step index, target, reminder round): round 0 is the step's first message.
    notify: list[tuple[int, str, int]] = field(default_factory=list)
    step: int = 0  # steps reached so far
    round_no: int = 0
    last_notified: datetime | None = None
    next_at: datetime | None = None  # when the ladder next needs a look; None: never


def advance(
    steps: Sequence[PolicyStep],
    *,
    step: int,
    round_no: int,
    last_notified: datetime | None,
    started_at: datetime,
    repeat: timedelta,
    now: datetime,
) -> LadderMove:
    """1. Steps whose time has come since `started_at` are reached, each notified once.
    2. Recipients of steps reached earlier are reminded every `repeat` (a task to notify
       the authorities is created once, not repeated).
    3. The next look is the earlier of the next step's time and the next reminder.
    """
    # A policy changed mid-ladder may now have fewer steps than were reached: clamp, or an
    # IndexError would stop the monitor for the whole batch on every pass.
    step = min(step, len(steps))
    reached = step
    elapsed = now - started_at
    while reached < len(steps) and timedelta(minutes=steps[reached]["after_minutes"]) <= elapsed:
        reached += 1
    notify: list[tuple[int, str, int]] = []
    if last_notified and now >= last_notified + repeat and step > 0:
        round_no += 1
        notify += [
            (i, steps[i]["to"], round_no)
            for i in range(step)
            if steps[i]["to"] != Target.AUTHORITIES_TASK
        ]
    notify += [(i, steps[i]["to"], 0) for i in range(step, reached)]
    if notify:
        last_notified = now
    candidates = []
    if reached < len(steps):
        candidates.append(started_at + timedelta(minutes=steps[reached]["after_minutes"]))
    if reached > 0:
        candidates.append((last_notified or now) + repeat)
    return LadderMove(notify, reached, round_no, last_notified, min(candidates, default=None))
