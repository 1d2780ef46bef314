"""File importers, registered by the apps and run by `jikimi import KIND PATH --org SLUG`.

Each app that imports a file format (people today, incidents next) registers one importer
in its AppConfig.ready(); the `ops` command finds it here, so core and ops know no format.
Every importer keeps the contract of DESIGN §8: all rows or none, every bad row reported as
`row N, column C: reason`, a file that cannot be read at all raises ImportFileError.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RowProblem:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass
class ImportResult:
    path: str
    created: int = 0
    problems: list[RowProblem] = field(default_factory=list)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (missing, unreadable, wrong format, bad header)."""


@dataclass(frozen=True)
class Importer:
    kind: str  # the word after `jikimi import`
    noun: str  # what a row becomes, for the summary line ("imported 3 people into alpha")
    run: Callable[[Path, Any], ImportResult]  # (path, organisation) -> result


_importers: dict[str, Importer] = {}


def register_importer(kind: str, noun: str, run: Callable[[Path, Any], ImportResult]) -> None:
    _importers[kind] = Importer(kind, noun, run)


def importers() -> dict[str, Importer]:
    return dict(sorted(_importers.items()))


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection while a bulk import runs, back on after (if it was on).

    An import holds its whole file as hundreds of thousands of live objects (rows, specs,
    value lists) that reference counting frees; the collector's full passes then only
    traverse them again and again: 13% of a 10k-row incident import's CPU (issue #14)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
