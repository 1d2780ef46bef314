from __future__ import annotations

from datetime import UTC, datetime

from jikimi.checkins.schedule import next_due


def test_it_counts_intervals_from_the_checkin():
    t = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert next_due(interval_hours=12, weekly_slots=[], tz="Asia/Seoul", after=t) == datetime(
        2026, 1, 1, 20, tzinfo=UTC
    )


def test_it_keeps_weekly_slots_at_local_wall_clock_across_dst():
    # Monday 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC after the March change.
    slots = [[0, "09:00"]]
    winter = next_due(
        interval_hours=None,
        weekly_slots=slots,
        tz="Europe/Berlin",
        after=datetime(2026, 3, 20, 12, tzinfo=UTC),
    )
    assert winter == datetime(2026, 3, 23, 8, tzinfo=UTC)
    summer = next_due(
        interval_hours=None,
        weekly_slots=slots,
        tz="Europe/Berlin",
        after=datetime(2026, 3, 27, 12, tzinfo=UTC),
    )
    assert summer == datetime(2026, 3, 30, 7, tzinfo=UTC)


def test_it_counts_an_early_checkin_for_the_coming_slot():
    slots = [[0, "09:00"], [3, "18:00"]]  # Monday morning, Thursday evening (Seoul)
    early = datetime(2026, 3, 1, 20, tzinfo=UTC)  # Monday 05:00 KST, 4 h before the slot
    assert next_due(
        interval_hours=None, weekly_slots=slots, tz="Asia/Seoul", after=early
    ) == datetime(2026, 3, 5, 9, tzinfo=UTC)
