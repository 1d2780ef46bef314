"""Capture-history tables: reading, validating and summarising multiple-systems data.

A capture-history table counts the people seen on each combination of lists. The pattern of
people seen on no list (the dark figure) is never observed; estimating it is the whole point.

Two file formats are accepted (DESIGN §8):

* a capture-history CSV: one 0/1 column per list, then ``count``; patterns with a zero count may
  be omitted, the all-zero pattern is rejected;
* a records CSV (``--records``): ``person_id,list``, one row per sighting of a person on a list.

Bad input raises :class:`TableInputError`, which names the file, the row and the column so that a
documenter can fix the spreadsheet without reading code.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_LISTS = 12  # 2^12 patterns; beyond that a capture-history table is no longer a table


class TableInputError(ValueError):
    """Bad input in a capture-history or records file (the command exits 2)."""

    def __init__(self, path: str | Path, message: str, row: int | None = None, column=None):
        self.path = str(path)
        self.row = row
        self.column = column
        where = [self.path]
        if row == 0:
            where.append("header (line 1)")
        elif row is not None:
            # Data rows are numbered from 1; the file line adds the header line.
            where.append(f"row {row} (line {row + 1})")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass(frozen=True)
class CaptureTable:
    """Counts for every observable capture pattern of ``k`` lists.

    ``patterns`` is a ``(2^k - 1, k)`` 0/1 array ordered by the number of lists a pattern is on
    (then lexicographically), excluding the all-zero pattern; ``counts`` holds the number of
    people with each pattern (zeros are real observed zeros).
    """

    lists: tuple[str, ...]
    patterns: np.ndarray
    counts: np.ndarray

    @property
    def k(self) -> int:
        return len(self.lists)

    @property
    def observed(self) -> int:
        return int(self.counts.sum())

    def with_counts(self, counts: np.ndarray) -> CaptureTable:
        """The same lists and patterns with other counts (bootstrap and jackknife tables)."""
        return CaptureTable(self.lists, self.patterns, np.asarray(counts, dtype=np.int64))

    def list_totals(self) -> np.ndarray:
        return self.patterns.T @ self.counts

    def pair_overlaps(self) -> dict[tuple[int, int], int]:
        """Number of people seen on both lists ``i`` and ``j`` (whatever else they are on)."""
        both = {}
        for i, j in itertools.combinations(range(self.k), 2):
            on_both = self.patterns[:, i] * self.patterns[:, j]
            both[(i, j)] = int(on_both @ self.counts)
        return both

    def overlap_components(self) -> list[list[str]]:
        """Groups of lists linked by shared people (connected components of the overlap graph)."""
        parent = list(range(self.k))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for (i, j), shared in self.pair_overlaps().items():
            if shared > 0:
                parent[root(i)] = root(j)
        groups: dict[int, list[str]] = {}
        for i, name in enumerate(self.lists):
            groups.setdefault(root(i), []).append(name)
        return list(groups.values())

    def to_array(self) -> np.ndarray:
        """A ``2 x 2 x ... x 2`` array of counts indexed by list membership; cell 0 is unknown."""
        full = np.zeros((2,) * self.k, dtype=np.int64)
        for pattern, count in zip(self.patterns, self.counts, strict=True):
            full[tuple(pattern)] = count
        return full


def all_patterns(k: int) -> np.ndarray:
    """Every non-empty 0/1 pattern on ``k`` lists, ordered by size then lexicographically."""
    rows = [p for p in itertools.product((1, 0), repeat=k) if any(p)]
    rows.sort(key=lambda p: (sum(p), tuple(-x for x in p)))
    return np.array(rows, dtype=np.int64).reshape(-1, k)


def table_from_counts(lists, counts_by_pattern: dict[tuple[int, ...], int]) -> CaptureTable:
    """Build a full table (missing patterns count zero) from ``{pattern: count}``."""
    lists = tuple(lists)
    patterns = all_patterns(len(lists))
    counts = np.array(
        [int(counts_by_pattern.get(tuple(int(x) for x in p), 0)) for p in patterns],
        dtype=np.int64,
    )
    return CaptureTable(lists, patterns, counts)


def _parse_int(path, raw: str, row: int, column: str, what: str) -> int:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        raise TableInputError(path, f"{what} {text!r} is not a number", row, column) from None
    if not np.isfinite(value) or value != int(value):
        raise TableInputError(path, f"{what} {text!r} is not a whole number", row, column)
    return int(value)


def read_capture_csv(path: str | Path) -> CaptureTable:
    """Read and validate a capture-history CSV.

    Steps: 1. the header must have at least two list columns followed by ``count``;
    2. every list value must be 0 or 1 and every count a non-negative whole number;
    3. the all-zero pattern and repeated patterns are rejected (naming both rows);
    4. omitted patterns count zero.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise TableInputError(path, f"cannot read the file ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise TableInputError(path, "the file is empty (expected a header: lists, then count)")
        header = [h.strip() for h in header]
        if header[-1].lower() != "count":
            raise TableInputError(
                path,
                "the last column must be 'count' (one 0/1 column per list, then count)",
                0,
                header[-1],
            )
        lists = header[:-1]
        if len(lists) < 2:
            raise TableInputError(path, "at least two list columns are needed", 0, "count")
        if len(lists) > MAX_LISTS:
            raise TableInputError(path, f"more than {MAX_LISTS} lists are not supported", 0)
        for idx, name in enumerate(lists):
            if not name:
                raise TableInputError(path, f"list column {idx + 1} has no name", 0)
            if name in lists[:idx]:
                raise TableInputError(path, "list name appears twice in the header", 0, name)
        seen: dict[tuple[int, ...], int] = {}
        counts: dict[tuple[int, ...], int] = {}
        for row_no, values in enumerate(reader, start=1):
            if not values or all(not v.strip() for v in values):
                continue  # blank lines are harmless
            if len(values) != len(header):
                raise TableInputError(
                    path, f"expected {len(header)} values, found {len(values)}", row_no
                )
            pattern = []
            for name, raw in zip(lists, values, strict=False):
                if raw.strip() not in ("0", "1"):
                    raise TableInputError(
                        path, f"list value {raw.strip()!r} must be 0 or 1", row_no, name
                    )
                pattern.append(int(raw.strip()))
            count = _parse_int(path, values[-1], row_no, "count", "count")
            if count < 0:
                raise TableInputError(path, f"count {count} is negative", row_no, "count")
            key = tuple(pattern)
            if not any(key):
                raise TableInputError(
                    path,
                    "the all-zero pattern (people on no list) cannot be observed; remove the row",
                    row_no,
                    lists[0],
                )
            if key in seen:
                raise TableInputError(
                    path,
                    f"pattern {''.join(map(str, key))} repeats row {seen[key]}; "
                    "give each pattern once",
                    row_no,
                    lists[0],
                )
            seen[key] = row_no
            counts[key] = count
    table = table_from_counts(lists, counts)
    if table.observed == 0:
        raise TableInputError(path, "no one is counted on any list", None, "count")
    return table


def read_records_csv(path: str | Path) -> CaptureTable:
    """Read ``person_id,list`` rows and cross-tabulate each person's capture pattern.

    A person seen twice on the same list counts once on it; lists are ordered by name so that
    the same records always give the same table.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise TableInputError(path, f"cannot read the file ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        for needed in ("person_id", "list"):
            if needed not in fields:
                raise TableInputError(path, "missing required column", 0, needed)
        reader.fieldnames = fields
        on_lists: dict[str, set[str]] = {}
        for row_no, row in enumerate(reader, start=1):
            person = (row.get("person_id") or "").strip()
            source = (row.get("list") or "").strip()
            if not person and not source:
                continue
            if not person:
                raise TableInputError(path, "person_id is empty", row_no, "person_id")
            if not source:
                raise TableInputError(path, "list is empty", row_no, "list")
            on_lists.setdefault(person, set()).add(source)
    names = sorted({s for sources in on_lists.values() for s in sources})
    if len(names) < 2:
        raise TableInputError(
            path, f"at least two lists are needed, found {len(names)}", None, "list"
        )
    if len(names) > MAX_LISTS:
        raise TableInputError(path, f"more than {MAX_LISTS} lists are not supported", None, "list")
    counts: dict[tuple[int, ...], int] = {}
    for sources in on_lists.values():
        key = tuple(int(name in sources) for name in names)
        counts[key] = counts.get(key, 0) + 1
    return table_from_counts(names, counts)
