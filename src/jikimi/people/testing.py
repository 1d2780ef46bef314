"""Bulk fixtures for race tests and benchmarks (not used in production)."""

from __future__ import annotations

from jikimi.accounts.models import Organisation

from .models import Person


def make_people(organisation: Organisation, count: int, *, batch: int = 2000) -> list[Person]:
    """`count` bare people of `organisation` (no identities, no audit, no encryption work):
    subjects for other apps' bulk fixtures, which may not write people's models themselves."""
    people = [Person(organisation=organisation) for _ in range(count)]
    Person.objects.bulk_create(people, batch_size=batch)
    return people
