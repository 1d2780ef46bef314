"""The lists' overlap as an UpSet-style chart: geometry for a server-rendered SVG.

Bars above give the number of people with each capture pattern (largest first), the dot
matrix underneath says which lists a pattern is (filled) and is not (hollow) on, and the bars
on the left give each list's size. No script and no style attributes: the template draws the
shapes computed here and the classes are styled in ``estimates/estimates.css`` (strict CSP).

Counts 1..4 are suppressed as in the on-page table: their label reads "<5" and their bar is
drawn at the height of 5 with a distinct class, so the chart does not reveal a small cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jikimi.lib.suppression import SUPPRESS_BELOW, is_small, shown_size, suppressed

from .tables import CaptureTable

MAX_COLUMNS = 40
COL_W = 24
ROW_H = 22
BAR_H = 150
TOP = 18
SET_W = 130  # the set-size bars and their labels
SET_BAR_MAX = 80
LABEL_W = 80


@dataclass
class UpSetChart:
    width: int
    height: int
    bars: list[dict] = field(default_factory=list)
    dots: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    omitted: int = 0  # non-empty patterns not drawn (beyond MAX_COLUMNS)
    axis_y: int = 0
    matrix_x: int = 0


def upset_chart(table: CaptureTable, below: int = SUPPRESS_BELOW) -> UpSetChart:
    """Geometry of the chart for a capture-history table (patterns with nobody are left out);
    counts under `below` (the organisation's threshold) are suppressed."""
    columns = sorted(
        (
            (int(count), tuple(int(x) for x in pattern))
            for pattern, count in zip(table.patterns, table.counts, strict=True)
            if count > 0
        ),
        key=lambda c: (-c[0], -sum(c[1]), tuple(-x for x in c[1])),
    )
    omitted = max(0, len(columns) - MAX_COLUMNS)
    columns = columns[:MAX_COLUMNS]
    k = table.k
    matrix_x = SET_W + LABEL_W
    matrix_top = TOP + BAR_H + 12
    width = matrix_x + max(1, len(columns)) * COL_W + 10
    height = matrix_top + k * ROW_H + 8
    chart = UpSetChart(
        width=width, height=height, omitted=omitted, axis_y=TOP + BAR_H, matrix_x=matrix_x
    )
    top_count = max((shown_size(c, below) for c, _ in columns), default=1) or 1
    for j, (count, pattern) in enumerate(columns):
        x = matrix_x + j * COL_W
        h = max(1.0, shown_size(count, below) / top_count * BAR_H)
        small = is_small(count, below)
        names = " & ".join(name for name, on in zip(table.lists, pattern, strict=True) if on)
        chart.bars.append(
            {
                "x": x + 4,
                "y": round(TOP + BAR_H - h, 1),
                "w": COL_W - 8,
                "h": round(h, 1),
                "cx": x + COL_W // 2,
                "label_y": round(TOP + BAR_H - h - 4, 1),
                "label": suppressed(count, below),
                "suppressed": small,
                "title": f"{names}: {suppressed(count, below)}",
            }
        )
        on_rows = [i for i in range(k) if pattern[i]]
        for i in range(k):
            chart.dots.append(
                {"cx": x + COL_W // 2, "cy": matrix_top + i * ROW_H + ROW_H // 2, "on": pattern[i]}
            )
        if len(on_rows) > 1:
            chart.links.append(
                {
                    "x": x + COL_W // 2,
                    "y1": matrix_top + on_rows[0] * ROW_H + ROW_H // 2,
                    "y2": matrix_top + on_rows[-1] * ROW_H + ROW_H // 2,
                }
            )
    totals = [int(t) for t in table.list_totals()]
    top_total = max((shown_size(t, below) for t in totals), default=1) or 1
    for i, name in enumerate(table.lists):
        y = matrix_top + i * ROW_H
        w = round(shown_size(totals[i], below) / top_total * SET_BAR_MAX, 1) if totals[i] else 0
        chart.rows.append(
            {
                "name": name,
                "y": y,
                "band": i % 2 == 0,
                "text_y": y + ROW_H // 2 + 4,
                "bar_x": round(SET_W - 6 - w, 1),
                "bar_y": y + 5,
                "bar_w": w,
                "bar_h": ROW_H - 10,
                "size": suppressed(totals[i], below),
                "size_x": round(SET_W - 10 - w, 1),
                "label_x": matrix_x - 6,
            }
        )
    return chart
