"""Scoring pairs of people in the application with the comparison spec (`spec.py`).

The levels are the spec's, evaluated in Python on the engine's derived columns, so a pair
gets the level `jikimi link` (Splink) gives it, and the m and u values of a model trained by
`jikimi link` (JSON, `JIKIMI_LINKAGE_MODEL` = its path) replace the spec's defaults level by
level. The defaults are a transparent starting point, not fitted:
  m = P(level | same person), u = P(level | two different people of one organisation);
  weight of a level = log2(m / u) bits; a null level (either side unknown) weighs 0;
  match weight = log2(prior odds) + sum of weights; probability = 1 / (1 + 2^-weight).
Read as points: same given name in any spelling +8.7, same surname group +3.2 (Kim, Lee and
Park are common), same full birth date +12.8, same year +2.6, sex agreeing +1.0 and
disagreeing -4.1, same province +2.5; a prior of 1 in 10,000 is -13.3.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db.models import Count

from jikimi.core.crypto import blind_index
from jikimi.lib import korean
from jikimi.lib import records as person_record
from jikimi.lib.dates import PartialDate, Precision
from jikimi.linkage import engine, spec
from jikimi.linkage.queries import parts
from jikimi.people.models import IdentityIndex, Person
from jikimi.people.services import people_seen_by

log = logging.getLogger(__name__)

#: Level names per comparison, in the spec's order (what `weights_from_model` expects).
COMPARISONS: dict[str, tuple[str, ...]] = {c.name: c.level_names for c in spec.COMPARISONS}
NAME_LEVELS = COMPARISONS["surname"]
#: The given name has the alias level before "else" (`spec.ALIAS_LEVEL_LABEL`): no
#: agreement, and one of the two people has a record from a source that uses aliases.
GIVEN_NAME_LEVELS = COMPARISONS["given_name"]
DEFAULT_PRIOR = 1e-4
DEFAULT_M_U: dict[str, dict[str, tuple[float, float]]] = spec.default_m_u()
_NAME_COMPARISONS = tuple(c for c in spec.COMPARISONS if c.on_names)
_RECORD_COMPARISONS = tuple(c for c in spec.COMPARISONS if not c.on_names)


@dataclass(frozen=True)
class Weights:
    prior: float
    m_u: dict[str, dict[str, tuple[float, float]]]
    #: Sources whose records use aliases, from the model (`engine.alias_prone_sources`).
    alias_sources: frozenset[str] = frozenset()

    def bits(self, comparison: str, level: str) -> float:
        if level == "null":
            return 0.0
        m, u = self.m_u[comparison][level]
        return math.log2(max(m, 1e-12) / max(u, 1e-12))


def weights_from_model(model: dict[str, Any] | None) -> Weights:
    """Weights from a trained `jikimi link` model (versioned JSON), else the defaults.

    The model's given-name alias level (`spec.ALIAS_LEVEL_LABEL`) becomes "alias"; a model
    without one (format 1) scores such a pair as it was trained, on its plain "else" level.
    The model's `alias_sources` say which sources' records make a person alias-prone.
    """
    if not model or "splink_model" not in model:
        return Weights(DEFAULT_PRIOR, DEFAULT_M_U)
    splink_model = model["splink_model"]
    m_u = {name: dict(levels) for name, levels in DEFAULT_M_U.items()}
    for comparison in splink_model.get("comparisons", []):
        name = comparison.get("output_column_name")
        if name not in COMPARISONS:
            continue
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        labels = list(COMPARISONS[name])
        has_alias = any(lv.get("label_for_charts") == spec.ALIAS_LEVEL_LABEL for lv in levels)
        if "alias" in labels and not has_alias:
            labels.remove("alias")
        if len(levels) != len(labels) or (has_alias and "alias" not in labels):
            continue  # a model of another shape: keep the defaults for this field
        if has_alias and levels[labels.index("alias")].get("label_for_charts") != (
            spec.ALIAS_LEVEL_LABEL
        ):
            continue
        for label, level in zip(labels, levels, strict=True):
            m, u = level.get("m_probability"), level.get("u_probability")
            if m is not None and u is not None:
                m_u[name][label] = (float(m), float(u))
        if "alias" in COMPARISONS[name] and not has_alias:
            m_u[name]["alias"] = m_u[name]["else"]  # the model knows no aliases
    prior = float(splink_model.get("probability_two_random_records_match", DEFAULT_PRIOR))
    sources = frozenset(str(s) for s in model.get("alias_sources") or ())
    return Weights(prior, m_u, sources)


_weights_cache: dict[str, Weights] = {}


def current_weights() -> Weights:
    path = getattr(django_settings, "JIKIMI_LINKAGE_MODEL", None)
    key = str(path or "")
    if key not in _weights_cache:
        model = None
        if path:
            try:
                model = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("linkage model %s unreadable; using default weights", path)
        _weights_cache[key] = weights_from_model(model)
    return _weights_cache[key]


def alias_sources() -> frozenset[str]:
    """Sources whose records use aliases: the loaded model's list (`JIKIMI_LINKAGE_MODEL`)
    and `JIKIMI_LINKAGE_ALIAS_SOURCES` (a list of `SourceRecord.source` names)."""
    configured = getattr(django_settings, "JIKIMI_LINKAGE_ALIAS_SOURCES", None) or ()
    if isinstance(configured, str):
        configured = [configured]
    return current_weights().alias_sources | frozenset(str(s) for s in configured)


@dataclass
class RecordFeatures:
    """The comparison columns of one person: one set of name columns per name identity."""

    names: list[dict[str, Any]]
    birth_year: int | None = None
    birth_ym: str | None = None
    birth_full: str | None = None
    sex: str | None = None
    province: str | None = None
    county: str | None = None
    defection_year: int | None = None
    #: A record of this person comes from a source that uses aliases (`alias_sources()`).
    alias_source: bool = False

    def columns(self) -> dict[str, Any]:
        """The engine's derived columns (`engine.DERIVED_COLUMNS`) other than the name's."""
        return {
            "birth_year": self.birth_year,
            "birth_ym": self.birth_ym,
            "birth_full": self.birth_full,
            "birth_month": self.birth_ym[5:7] if self.birth_ym else None,
            "birth_md": self.birth_full[5:] if self.birth_full else None,
            "sex": self.sex,
            "province_code": self.province,
            "county_key": self.county,
            "defection_year": self.defection_year,
            "alias_source": int(self.alias_source),
        }


def features_of(
    person: Any,
    names: Iterable[str],
    birth_dates: Iterable[str],
    counties: Iterable[str] = (),
    sources: Iterable[str] = (),
    *,
    alias_prone: frozenset[str] | None = None,
) -> RecordFeatures:
    """Derive the engine's columns from a person's decrypted names and birth dates, and the
    sources of their records (alias-prone when one is in `alias_prone`, by default
    `alias_sources()`)."""
    columns = []
    for name in names:
        if not name or not name.strip():
            continue
        column = engine._name_columns(name, "")
        if column["surname_keys"] or column["given_keys"]:
            # The blind-index digests of its `g:` keys (what `people.services` stores): term
            # frequencies are counted by digest, never by name.
            column["given_digests"] = _given_digests(name)
            columns.append(column)
    best: PartialDate | None = None
    for text in birth_dates:
        try:
            parsed = person_record.read_birth_date(text)
        except person_record.FieldError:
            continue  # stored before the reader checked it: compared as unknown
        # The most precise of the person's dates (Precision lists day first).
        if parsed and (
            best is None or _PRECISION_RANK[parsed.precision] < _PRECISION_RANK[best.precision]
        ):
            best = parsed
    year, month, day = (
        (best.year, best.month, best.day) if best else (person.birth_year, None, None)
    )
    province = korean.province_code(person.province)
    county = next((engine.county_key(c) for c in counties if c), None)
    return RecordFeatures(
        names=columns,
        birth_year=year,
        birth_ym=f"{year:04d}-{month:02d}" if year and month else None,
        birth_full=f"{year:04d}-{month:02d}-{day:02d}" if year and month and day else None,
        sex=person.sex or None,
        province=province,
        county=county,
        defection_year=person.defection_year,
        alias_source=not (alias_sources() if alias_prone is None else alias_prone).isdisjoint(
            sources
        ),
    )


_PRECISION_RANK = {precision: rank for rank, precision in enumerate(Precision)}


def _given_digests(name: str) -> frozenset[str]:
    return frozenset(blind_index("name", k) for k in korean.index_keys(name) if k.startswith("g:"))


# --- Term frequencies (Splink's term-frequency adjustment, on blind-index digests) ----------
#
# A rare given name agreeing is stronger evidence than a common one. The engine adjusts the
# surname's "keys_intersect" level by the frequency of the agreeing value, and not the given
# name's (whose readings meet far more often than one key is shared, so Splink's adjustment
# lifts the whole level: `spec._name_comparison`); the pages adjust the given name's, bounded
# as below, counting per blind-index digest of a `g:` key how many distinct people the
# organisation can see (own and shared, as `candidate_ids`) carry it — no name reaches SQL.
# There is no surname-only key in the index (`index_keys` stores `n:` full-name and `g:`
# given-name keys; `s:` only for a name that is a surname alone), so the surname is not
# adjusted. The "exact" level (coarse keys equal, no fine key shared) has no digest to count
# and, as in the engine, is not adjusted either.
#
#   weight = log2(m / tf) instead of log2(m / u), on the given name's "keys_intersect" level;
#   count  = the most common digest the two names share (the conservative reading), less the
#            pair's own two people (Splink counts them; with millions of records that is
#            nothing, with the few dozen people of a new organisation it would make every
#            shared name look common);
#   tf     = (count + K·u) / (people seen − 2 + K), K = TF_PRIOR_PEOPLE: the frequency is
#            pulled towards the level's u until the organisation has about K people, so a
#            small organisation scores as without the adjustment;
#   tf    >= u · TF_FLOOR: a name nobody else carries can add at most log2(1/TF_FLOOR) bits
#            (2 bits for 1/4), so a unique spelling cannot outweigh a birth date.

TF_PRIOR_PEOPLE = 1000
TF_FLOOR = 0.25


@dataclass(frozen=True)
class TermFrequencies:
    """Distinct people per given-name digest among `population` people one organisation sees."""

    counts: dict[str, int]
    population: int

    def adjusted(self, digests: Iterable[str], m: float, u: float) -> tuple[float, int] | None:
        """(bits, people carrying the name) for a level whose names share `digests`; None
        when none of them is counted (nothing to adjust by)."""
        count = max((self.counts.get(d, 0) for d in digests), default=0)
        if count <= 0:
            return None
        others = max(count - 2, 0)
        tf = (others + TF_PRIOR_PEOPLE * u) / (max(self.population - 2, 0) + TF_PRIOR_PEOPLE)
        tf = max(tf, u * TF_FLOOR)
        return math.log2(max(m, 1e-12) / tf), count


def term_frequencies(organisation_id: int, digests: Iterable[str]) -> TermFrequencies:
    """Count, per digest, the distinct people the organisation sees that carry it: one
    grouped query (per 5,000 digests) and one count, whatever the number of pairs."""
    wanted = sorted(set(digests))
    counts: dict[str, int] = {}
    for digests in parts(wanted):
        rows = (
            IdentityIndex.objects.filter(people_seen_by(organisation_id, person_field="person_id"))
            .filter(digest__in=digests)
            .values("digest")
            .annotate(people=Count("person_id", distinct=True))
            .order_by()
            .values_list("digest", "people")
        )
        counts.update(rows)
    population = Person.objects.filter(people_seen_by(organisation_id)).count() if wanted else 0
    return TermFrequencies(counts, population)


def given_digests_of(*features: RecordFeatures) -> set[str]:
    return {d for f in features for n in f.names for d in n.get("given_digests", ())}


# --- Scoring ---------------------------------------------------------------------------------


@dataclass
class PairScore:
    levels: dict[str, str]
    #: Fields whose weight a term frequency changed: adjusted bits.
    adjusted: dict[str, float]
    #: Those fields' (people carrying the name, people seen), for the side-by-side view.
    frequencies: dict[str, tuple[int, int]]
    probability: float


def score_pair(
    left: RecordFeatures,
    right: RecordFeatures,
    frequencies: TermFrequencies | None = None,
    weights: Weights | None = None,
) -> PairScore:
    """Levels of every field for the best-agreeing pair of names, and the match probability
    (term-frequency adjusted when `frequencies` are given)."""
    weights = weights or current_weights()
    left_columns, right_columns = left.columns(), right.columns()
    fields = {c.name: c.level_of(left_columns, right_columns) for c in _RECORD_COMPARISONS}
    best_names: dict[str, str] = {c.name: spec.NULL_LEVEL for c in _NAME_COMPARISONS}
    best_adjusted: dict[str, float] = {}
    best_frequencies: dict[str, tuple[int, int]] = {}
    best_bits = -math.inf
    for ln in left.names:
        for rn in right.names:
            pair = ({**left_columns, **ln}, {**right_columns, **rn})
            names = {c.name: c.level_of(*pair) for c in _NAME_COMPARISONS}
            adjusted: dict[str, float] = {}
            counted: dict[str, tuple[int, int]] = {}
            if frequencies is not None and names["given_name"] == "keys_intersect":
                shared = ln.get("given_digests", frozenset()) & rn.get("given_digests", frozenset())
                found = frequencies.adjusted(shared, *weights.m_u["given_name"]["keys_intersect"])
                if found is not None:
                    adjusted["given_name"] = found[0]
                    counted["given_name"] = (found[1], frequencies.population)
            bits = sum(adjusted.get(f, weights.bits(f, level)) for f, level in names.items())
            if bits > best_bits:
                best_names, best_adjusted, best_frequencies = names, adjusted, counted
                best_bits = bits
    levels = {c.name: {**best_names, **fields}[c.name] for c in spec.COMPARISONS}
    return PairScore(
        levels=levels,
        adjusted=best_adjusted,
        frequencies=best_frequencies,
        probability=match_probability(levels, weights, best_adjusted),
    )


def compare(
    left: RecordFeatures, right: RecordFeatures, frequencies: TermFrequencies | None = None
) -> dict[str, str]:
    """The comparison level of every field, for the best-agreeing pair of names."""
    return score_pair(left, right, frequencies).levels


def match_probability(
    levels: dict[str, str],
    weights: Weights | None = None,
    adjusted: dict[str, float] | None = None,
) -> float:
    """1 / (1 + 2^-weight); `adjusted` replaces the weight of a field (term frequencies)."""
    weights = weights or current_weights()
    adjusted = adjusted or {}
    bits = math.log2(weights.prior / (1 - weights.prior))
    bits += sum(adjusted.get(f, weights.bits(f, level)) for f, level in levels.items())
    return 1.0 / (1.0 + 2.0 ** (-bits))


def level_bits(
    levels: dict[str, str], adjusted: dict[str, float] | None = None
) -> dict[str, float]:
    """Each field's contribution in bits (term-frequency adjusted), for the side-by-side view."""
    weights = current_weights()
    adjusted = adjusted or {}
    return {f: round(adjusted.get(f, weights.bits(f, level)), 1) for f, level in levels.items()}
