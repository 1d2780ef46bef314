"""Synthetic returnees for the determination and estimate tests: acts with sources, built
straight in the tables (a fixture, not the code under test)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from jikimi.incidents.models import (
    Act,
    Event,
    Information,
    ReturnDetermination,
    Source,
    Term,
)
from jikimi.people.models import Person
from jikimi.people.testing import make_people

DAY = dt.date(2016, 5, 1)


def _term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


def sources(organisation, kinds: Iterable[str]) -> dict[str, Source]:
    return {
        kind: Source.objects.create(organisation=organisation, kind=_term("source_kind", kind))
        for kind in kinds
    }


def add_acts(
    organisation,
    groups: Sequence[tuple[int, str, Sequence[str], str | None]],
) -> list[Person]:
    """`groups`: (how many people, act type, the source kinds reporting the act, the current
    determination or None). One event and one act per person; returns the people in order."""
    kinds = {k for _n, _t, ks, _d in groups for k in ks}
    by_kind = sources(organisation, kinds)
    made: list[Person] = []
    for n, act_type, reported_by, determination in groups:
        people = make_people(organisation, n)
        term = _term("act_type", act_type)
        for person in people:
            event = Event.objects.create(
                organisation=organisation,
                title="synthetic",
                date_start=DAY,
                date_end=DAY,
                date_precision="day",
                date_text=DAY.isoformat(),
            )
            act = Act.objects.create(
                event=event,
                organisation=organisation,
                victim=person,
                act_type=term,
                date_start=DAY,
                date_end=DAY,
                date_precision="day",
                date_text=DAY.isoformat(),
            )
            Information.objects.bulk_create(
                [Information(event=event, act=act, source=by_kind[k]) for k in reported_by]
            )
            if determination:
                ReturnDetermination.objects.create(
                    organisation=organisation,
                    person=person,
                    revision=1,
                    current=True,
                    determination=_term("determination", determination),
                    confidence="medium",
                    rationale="synthetic",
                )
        made.extend(people)
    return made
