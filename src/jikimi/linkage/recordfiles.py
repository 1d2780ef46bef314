"""Reading person-record CSVs for `jikimi link` (DESIGN §8), and writing its outputs.

Problems that stop the whole run (a missing column, a duplicate `record_id`, an unreadable
file) raise `LinkInputError` naming file, row and column; the fields of a row are read later
by the one person-record reader (`jikimi.lib.records`, via `features.derive_columns`).
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jikimi.lib import records as person_record

REQUIRED_COLUMNS = person_record.REQUIRED
OPTIONAL_COLUMNS = person_record.OPTIONAL
# An extra identifier column's name (`read_records(paths, extra_columns)`).
_EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


class LinkInputError(Exception):
    """Bad input: every problem names the file, the row and the column."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Records:
    """Person records from one or more files, with their derived comparison columns."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


# --- Reading and validating -----------------------------------------------------------------


def read_records(paths: Sequence[str | Path], extra_columns: Sequence[str] = ()) -> Records:
    """Read person-record CSVs; raise LinkInputError on anything that stops the whole run.

    Row-level problems (an empty name, an unparseable date) are only warnings: those fields are
    left empty and the row is linked on the fields it has. `extra_columns` (see
    `derive_columns`) are kept when a file has them and left empty when it does not.
    """
    problems: list[str] = []
    warnings: list[str] = []
    rows: list[dict[str, str]] = []
    seen: dict[str, tuple[str, int]] = {}
    if not paths:
        raise LinkInputError(["no input files"])
    for path in map(Path, paths):
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                header = reader.fieldnames or []
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    problems.extend(
                        f"{path}: row 1: column {column!r}: required column is missing"
                        for column in missing
                    )
                    continue
                for row_number, row in enumerate(reader, start=2):
                    if None in row:
                        problems.append(f"{path}: row {row_number}: more fields than columns")
                        continue
                    record_id = (row.get("record_id") or "").strip()
                    if not record_id:
                        problems.append(
                            f"{path}: row {row_number}: column 'record_id': empty record_id"
                        )
                        continue
                    if record_id in seen:
                        first_path, first_row = seen[record_id]
                        problems.append(
                            f"{path}: row {row_number}: column 'record_id': duplicate "
                            f"record_id {record_id!r} (first in {first_path}, row {first_row})"
                        )
                        continue
                    seen[record_id] = (str(path), row_number)
                    row["record_id"] = record_id
                    row["location"] = f"{path}: row {row_number}"
                    rows.append(row)
        except FileNotFoundError:
            problems.append(f"{path}: row 0: column -: file not found")
        except (UnicodeDecodeError, csv.Error) as exc:
            problems.append(f"{path}: row 0: column -: unreadable CSV ({exc})")
        except OSError as exc:
            problems.append(f"{path}: row 0: column -: cannot read ({exc.strerror})")
    if problems:
        raise LinkInputError(problems)
    standard = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    clashing = [c for c in extra_columns if c in standard or not _EXTRA_NAME.fullmatch(c)]
    if clashing:
        raise LinkInputError([f"extra column {c!r}: not a new identifier column" for c in clashing])
    frame = pd.DataFrame(rows, columns=[*standard, *extra_columns, "location"])
    return Records(frame=frame.fillna(""), warnings=warnings)


def write_csv_atomically(frame: pd.DataFrame, path: Path, float_format: str | None = None) -> None:
    """Write next to the target then rename, so a failed run leaves no half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, float_format=float_format)
    tmp.replace(path)


def write_json_atomically(data: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def stderr_progress(total: int, desc: str) -> Callable[[Iterable[Any]], Iterable[Any]]:
    """A tqdm bar on stderr that shows only on a terminal and for long runs."""
    from tqdm import tqdm

    def wrap(iterable: Iterable[Any]) -> Iterable[Any]:
        return tqdm(
            iterable,
            total=total,
            desc=desc,
            file=sys.stderr,
            disable=None if total >= 50_000 else True,
            mininterval=0.5,
        )

    return wrap
