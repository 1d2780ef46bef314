"""What an act's links say, copied onto the act row so the act list filters without a join.

An act's perpetrators are those of its own involvements and of its event's whole-event
involvements; its sources those of its own information and of its event's whole-event
information. The act list filters by perpetrator, by source kind, by reliability ("this
grade or better") and by a source kind *and* a grade in the same piece of information. Each
of these is answered from the act row alone, exactly:

- `reliability`: the best grade of all its information ('' without a grade): "B or better"
  holds when some information is A or B, that is when the best is A or B.
- `perpetrator`: its perpetrator when it has exactly one (else NULL); `source_kind` the kind
  of all its information when they share one kind (else NULL) — then `reliability` is also
  the best grade of that kind.
- `links_many`: more than one perpetrator or more than one source kind (information without
  a kind counts as a kind of its own). Only for those acts are `perpetrators` (",3,17,": every
  perpetrator's term id) and `sources` (",7:B,0:-,": every kind's id, 0 for none, with the
  best grade of that kind, '-' for none) read, by a LIKE.

So a filter is `perpetrator = X OR (links_many AND perpetrators LIKE '%,X,%')`: the common
act (one perpetrator, one kind of source) is found through an index ordered as the list is.

`summarise` is pure (ids and grades in, field values out): the services, the bulk import,
the benchmark's loader and the migration that backfilled the fields share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

GRADES = "ABCDEF"
FIELDS = (
    "perpetrator_id",
    "perpetrators",
    "source_kind_id",
    "reliability",
    "sources",
    "links_many",
)


def _best(grades: Iterable[str]) -> str:
    found = [g for g in grades if g and g in GRADES]
    return min(found) if found else ""


def summarise(
    perpetrator_ids: Iterable[int], information: Iterable[tuple[int | None, str]]
) -> dict[str, object]:
    """The act's summary fields from its perpetrators' term ids and its information's
    (source kind id or None, reliability grade or '') pairs — its own and its event's."""
    perps = sorted(set(perpetrator_ids))
    by_kind: dict[int | None, list[str]] = {}
    for kind, grade in information:
        by_kind.setdefault(kind, []).append(grade or "")
    kinds = sorted(by_kind, key=lambda k: -1 if k is None else k)
    return {
        "perpetrator_id": perps[0] if len(perps) == 1 else None,
        "perpetrators": "".join(f",{p}" for p in perps) + ("," if perps else ""),
        "source_kind_id": kinds[0] if len(kinds) == 1 else None,
        "reliability": _best(g for grades in by_kind.values() for g in grades),
        "sources": "".join(f",{k or 0}:{_best(by_kind[k]) or '-'}" for k in kinds)
        + ("," if kinds else ""),
        "links_many": len(perps) > 1 or len(kinds) > 1,
    }


def summaries(
    acts: Iterable[tuple[object, object]],
    involvements: Iterable[tuple[object, object | None, int]],
    information: Iterable[tuple[object, object | None, int | None, str]],
) -> dict[object, dict[str, object]]:
    """{act key: its summary} for `acts` as (act key, event key), from involvements as
    (event key, act key or None for the whole event, perpetrator id) and information as
    (event key, act key or None, source kind id or None, grade)."""
    acts = list(acts)
    perps: dict[object, list[int]] = {a: [] for a, _e in acts}
    infos: dict[object, list[tuple[int | None, str]]] = {a: [] for a, _e in acts}
    event_perps: dict[object, list[int]] = {}
    event_infos: dict[object, list[tuple[int | None, str]]] = {}
    for event, act, perpetrator in involvements:
        (
            perps.setdefault(act, []) if act is not None else event_perps.setdefault(event, [])
        ).append(perpetrator)
    for event, act, kind, grade in information:
        target = infos.setdefault(act, []) if act is not None else event_infos.setdefault(event, [])
        target.append((kind, grade))
    return {
        a: summarise(perps[a] + event_perps.get(e, []), infos[a] + event_infos.get(e, []))
        for a, e in acts
    }


def group(
    found: Mapping[Any, Mapping[str, object]], groups: dict[tuple, list[Any]] | None = None
) -> dict[tuple, list[Any]]:
    """{summary values (in FIELDS' order): the act pks of that summary}, added to `groups`."""
    groups = {} if groups is None else groups
    for pk, fields in found.items():
        groups.setdefault(tuple(fields[f] for f in FIELDS), []).append(pk)
    return groups


def write_groups(queryset: Any, groups: dict[tuple, list[Any]]) -> None:
    """UPDATE the acts of `queryset` (the Act manager, or the migration's) group by group:
    one UPDATE per distinct summary (most acts share one of a few hundred — a perpetrator,
    a kind, a grade) and 500 acts, where bulk_update's CASE per row and field took ten
    minutes for 200,000 acts."""
    for values, pks in groups.items():
        for start in range(0, len(pks), 500):
            fields = dict(zip(FIELDS, values, strict=True))
            queryset.filter(pk__in=pks[start : start + 500]).update(**fields)


def write(queryset: Any, found: Mapping[Any, Mapping[str, object]]) -> int:
    """UPDATE the acts `found` ({act pk: summary}) to their summaries; their number."""
    write_groups(queryset, group(found))
    return len(found)
