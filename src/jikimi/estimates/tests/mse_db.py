"""Put a published capture-history table into the database as people and source records.

Each individual of the table becomes one Person with one SourceRecord per list it is on; or,
with ``split=True``, one Person per list (each with a single record), so that only the
same-person links (the returned truth) can join them into the table's individuals again.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jikimi.people.models import Person, SourceRecord

from .reference import mse_dir

_serial = itertools.count(1)


@dataclass
class Built:
    lists: list[str]
    people: list[Person] = field(default_factory=list)
    truth: dict = field(default_factory=dict)  # person id -> individual id

    def cluster_of(self, person_ids) -> dict:
        return {pid: self.truth[pid] for pid in person_ids if pid in self.truth}


def rows_of(name: str) -> tuple[list[str], list[dict]]:
    """Lists and rows of a table in shared/data/mse (extra columns kept as strata)."""
    with (mse_dir() / name).open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames or []
    lists = [h for h in header if h != "count" and set(r[h] for r in rows) <= {"0", "1"}]
    return lists, rows


def build(
    org,
    name: str,
    *,
    split: bool = False,
    prefix: str = "",
    attrs: Callable[[dict], dict] | None = None,
    record_org=None,
) -> Built:
    """Create the people of table ``name`` in ``org``; list ``X`` becomes source ``prefix+X``."""
    lists, rows = rows_of(name)
    built = Built([prefix + x for x in lists])
    people: list[Person] = []
    records: list[tuple[Person, str]] = []
    for row in rows:
        on = [prefix + x for x in lists if row[x] == "1"]
        extra = attrs(row) if attrs else {}
        for _ in range(int(row["count"])):
            individual = next(_serial)
            groups = [[s] for s in on] if split else [on]
            for group in groups:
                person = Person(organisation=org, **extra)
                people.append(person)
                built.truth[person.id] = f"I{individual}"
                records.extend((person, s) for s in group)
    Person.objects.bulk_create(people, batch_size=500)
    SourceRecord.objects.bulk_create(
        [
            SourceRecord(
                person=p,
                organisation=record_org or org,
                source=s,
                record_id=f"r{next(_serial)}",
            )
            for p, s in records
        ],
        batch_size=500,
    )
    built.people = people
    return built


def table_path(name: str) -> Path:
    return mse_dir() / name
