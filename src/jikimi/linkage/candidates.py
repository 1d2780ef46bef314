"""Candidates of a person (blocking through the blind index, never decrypting the
organisation) and the decrypted features they are scored on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from jikimi.core.crypto import blind_index, normalise_for_index
from jikimi.lib import korean
from jikimi.linkage.queries import IN_LIST_SIZE, parts
from jikimi.linkage.scoring import RecordFeatures, features_of, given_digests_of
from jikimi.people.models import Identity, IdentityIndex, IdentityKind, Person, SourceRecord
from jikimi.people.services import people_seen_by

#: At most this many candidates are scored per new record (a common name in a big list).
MAX_CANDIDATES = 300
#: People whose derived features a batch (`link_people`) keeps at once.
FEATURE_CACHE_SIZE = 50_000

Decrypted = tuple[list[str], list[str], list[str], list[str]]


def _decrypted(people: list[Person]) -> dict[Any, Decrypted]:
    """Names, birth dates, counties and record sources of `people` (`features_of`'s
    arguments), decrypted here only (never logged): one query for the identities and one for
    the source records (per 5,000 people), however many people."""
    out: dict[Any, Decrypted] = {p.pk: ([], [], [], []) for p in people}
    for ids in parts(list(out)):
        for ident in Identity.objects.filter(
            person_id__in=ids, kind__in=(IdentityKind.NAME, IdentityKind.BIRTH_DATE)
        ).order_by("-is_primary", "created_at"):
            out[ident.person_id][0 if ident.kind == IdentityKind.NAME else 1].append(ident.value)
        for person_id, county, source in SourceRecord.objects.filter(person_id__in=ids).values_list(
            "person_id", "county", "source"
        ):
            out[person_id][2].append(county)
            out[person_id][3].append(source)
    return out


def _load_features(
    people: list[Person], cache: dict[Any, RecordFeatures] | None = None
) -> dict[Any, RecordFeatures]:
    """Comparison columns of `people`; with `cache` (a batch), each person is decrypted and
    derived once however many of the batch's people have them as a candidate."""
    missing = [p for p in people if cache is None or p.pk not in cache]
    decrypted = _decrypted(missing) if missing else {}
    found = {p.pk: features_of(p, *decrypted[p.pk]) for p in missing}
    if cache is None:
        return found
    result = {p.pk: found[p.pk] if p.pk in found else cache[p.pk] for p in people}
    if len(cache) + len(found) > FEATURE_CACHE_SIZE:
        cache.clear()  # bounded memory for very large batches; correctness is unaffected
    cache.update(found)
    return result


def _search_digests(names: Iterable[str], features: RecordFeatures) -> set[str]:
    """The blind-index digests that find a person's likely duplicates: the full-name keys of
    every spelling (`search_keys`) and the full birth date."""
    found = {blind_index("name", k) for name in names for k in korean.search_keys(name)}
    if features.birth_full:
        found.add(blind_index("birth_date", normalise_for_index(features.birth_full)))
    return found


def candidate_ids(person: Person, features: RecordFeatures, names: Iterable[str]) -> list[Any]:
    """Other people the organisation can see that may be this person (blocking).

    1. Full-name keys (`search_keys`, every spelling) and the exact birth date, through the
       blind index: the same digest means the same normalised key.
    2. Given-name keys (`g:` of `index_keys`) with the same birth year: catches a surname
       misspelt beyond recognition.
    3. No name in common but the same birth year, sex and province: aliases.
    At most `MAX_CANDIDATES`, in that order.
    """
    search = {person.pk: _search_digests(names, features)}
    return _candidates([person], {person.pk: features}, search)[person.pk]


def _candidates(
    people: list[Person], features: dict[Any, RecordFeatures], search: dict[Any, set[str]]
) -> dict[Any, list[Any]]:
    """`candidate_ids` of many people at once: per organisation, one query per blocking rule
    (per 5,000 keys), not three per person — the ORM's query compilation was most of the
    cost of linking a person."""
    out: dict[Any, dict[Any, None]] = {p.pk: {} for p in people}
    by_org: dict[int, list[Person]] = {}
    for person in people:
        by_org.setdefault(person.organisation_id, []).append(person)

    def add(person: Person, ids: Iterable[Any]) -> None:
        found = out[person.pk]
        for pid in ids:
            if len(found) >= MAX_CANDIDATES:
                return
            if pid != person.pk:
                found[pid] = None

    for org, members in by_org.items():
        index = IdentityIndex.objects.filter(people_seen_by(org, person_field="person_id"))
        # 1. Full-name keys and the full birth date.
        hits: dict[str, list[Any]] = {}
        wanted = sorted({d for p in members for d in search[p.pk]})
        for digests in parts(wanted):
            rows = index.filter(digest__in=digests).values_list("digest", "person_id").distinct()
            for digest, pid in rows:
                hits.setdefault(digest, []).append(pid)
        for person in members:
            for digest in sorted(search[person.pk]):
                add(person, hits.get(digest, ()))
        # 2. Given-name keys with the same birth year: (year, digest) pairs, by year.
        by_year: dict[int, set[str]] = {}
        for person in members:
            own = features[person.pk]
            if own.birth_year and len(out[person.pk]) < MAX_CANDIDATES:
                by_year.setdefault(own.birth_year, set()).update(given_digests_of(own))
        given_hits: dict[tuple[int | None, str], list[Any]] = {}
        for condition in _year_conditions(by_year):
            year_rows = (
                index.filter(condition)
                .values_list("person__birth_year", "digest", "person_id")
                .distinct()
            )
            for year, digest, pid in year_rows:
                given_hits.setdefault((year, digest), []).append(pid)
        for person in members:
            own = features[person.pk]
            if own.birth_year:
                for digest in sorted(given_digests_of(own)):
                    add(person, given_hits.get((own.birth_year, digest), ()))
        # 3. The same birth year, sex and province (aliases), newest first; at most
        #    MAX_CANDIDATES a cell (a big organisation has hundreds in each).
        cells = sorted(
            {
                (features[p.pk].birth_year, features[p.pk].sex, p.province)
                for p in members
                if features[p.pk].birth_year
                and features[p.pk].sex
                and p.province
                and len(out[p.pk]) < MAX_CANDIDATES
            }
        )
        cell_hits: dict[tuple[int | None, str | None, str], list[Any]] = {}
        for part in parts(cells, 1000):
            condition = Q()
            for year, sex, province in part:
                condition |= Q(birth_year=year, sex=sex, province=province)
            cell_rows = (
                Person.objects.filter(people_seen_by(org))
                .filter(condition)
                .annotate(
                    rank=Window(
                        RowNumber(),
                        partition_by=[F("birth_year"), F("sex"), F("province")],
                        order_by=[F("created_at").desc(), F("id").asc()],
                    )
                )
                .filter(rank__lte=MAX_CANDIDATES + 1)  # + the person itself
                .order_by("-created_at", "id")
                .values_list("birth_year", "sex", "province", "pk")
            )
            for year, sex, province, pid in cell_rows:
                cell_hits.setdefault((year, sex, province), []).append(pid)
        for person in members:
            own = features[person.pk]
            add(person, cell_hits.get((own.birth_year, own.sex, person.province), ()))
    return {pk: list(found) for pk, found in out.items()}


def _year_conditions(by_year: dict[int, set[str]]) -> Iterable[Q]:
    """`(birth year = y AND digest IN (…)) OR …`, at most 5,000 digests a query."""
    condition, size = Q(), 0
    for year in sorted(by_year):
        digests = sorted(by_year[year])
        if not digests:
            continue
        if size and size + len(digests) > IN_LIST_SIZE:
            yield condition
            condition, size = Q(), 0
        condition |= Q(person__birth_year=year, digest__in=digests)
        size += len(digests)
    if size:
        yield condition
