"""Small-cell suppression: published counts of 1 to 4 people are shown as "<5".

A count that small can point at a person (the one defector from a county who went back),
so every published table, chart and report shows it only as "<5". Zero stays zero: an empty
cell reveals no one. Internal exports for the analyst are not suppressed (and say so).
"""

from __future__ import annotations

SUPPRESS_BELOW = 5


def is_small(count: int, below: int = SUPPRESS_BELOW) -> bool:
    """True for a count that is published only as "<below" (1 to below - 1)."""
    return 0 < count < below


def suppressed(count: int, below: int = SUPPRESS_BELOW) -> str:
    """A count as published: 1..4 become "<5"; 0 and 5 or more are shown as they are."""
    return f"<{below}" if is_small(count, below) else str(count)


def shown_size(count: int, below: int = SUPPRESS_BELOW) -> int:
    """The size a chart may draw for a count: a small count is drawn as large as the
    threshold, so the bar's length does not give away the number the label hides."""
    return max(count, below) if count > 0 else 0
