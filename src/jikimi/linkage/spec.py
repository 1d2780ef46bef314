"""The comparison spec: every comparison and its ordered levels, defined once (DESIGN §6).

Each level is a small expression on the derived ASCII columns of the two records (`_l` and
`_r` in SQL). The same expression renders to a Splink comparison level (`engine` builds its
settings with `splink_comparisons()`, so DuckDB and Spark get the dialect Splink writes) and
evaluates in Python (`Comparison.level_of`, the in-app scorer in `scoring.py`), so a pair
gets the same level in `jikimi link` and on the pages. Before, the levels were written three
times and had drifted: for 1957-10-12 against 1957-10-20 the pages said "year_month" (+6.6
bits) where Splink said "else" (about −6.5).

Semantics: only AND and OR of leaf tests, and a leaf with a NULL side is false in Python, as
SQL's NULL is in a CASE WHEN of monotone conditions. A level's `name` is stable: stored in
review items' `levels`, keyed by the in-app weights; `label` is shown on the pages
(translated there); `m`, `u` are the in-app defaults before a trained model replaces them
(a transparent starting point, not fitted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jikimi.lib.i18n import gettext_noop

Row = Mapping[str, Any]

#: Splink's label of the given-name alias level: `services.weights_from_model` recognises a
#: model that has the level by it (models of format 1 do not).
ALIAS_LEVEL_LABEL = "no agreement, a record from a source that uses aliases"
NULL_LEVEL = "null"
NULL_LABEL = gettext_noop("Not known on both sides")


# --- Expressions ------------------------------------------------------------------------


class Expr:
    def test(self, left: Row, right: Row) -> bool:
        raise NotImplementedError

    def splink(self) -> Any:
        """The Splink comparison level creator (`splink.comparison_level_library`)."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Column(Expr):
    column: str

    def values(self, left: Row, right: Row) -> tuple[Any, Any] | None:
        a, b = left.get(self.column), right.get(self.column)
        return None if a is None or b is None else (a, b)


@dataclass(frozen=True)
class IsNull(_Column):
    """Either side unknown (Splink's NullLevel)."""

    def test(self, left: Row, right: Row) -> bool:
        return self.values(left, right) is None

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        return cll.NullLevel(self.column)


@dataclass(frozen=True)
class Equal(_Column):
    def test(self, left: Row, right: Row) -> bool:
        pair = self.values(left, right)
        return pair is not None and pair[0] == pair[1]

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        return cll.ExactMatchLevel(self.column)


@dataclass(frozen=True)
class Levenshtein(_Column):
    distance: int = 1

    def test(self, left: Row, right: Row) -> bool:
        pair = self.values(left, right)
        return pair is not None and levenshtein(*pair, self.distance) <= self.distance

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        return cll.LevenshteinLevel(self.column, self.distance)


@dataclass(frozen=True)
class Intersect(_Column):
    """Two arrays share at least one element."""

    def test(self, left: Row, right: Row) -> bool:
        pair = self.values(left, right)
        return pair is not None and bool(set(pair[0]) & set(pair[1]))

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        return cll.ArrayIntersectLevel(self.column, min_intersection=1)


@dataclass(frozen=True)
class Within(_Column):
    """Integers at most `difference` apart."""

    difference: int = 1

    def test(self, left: Row, right: Row) -> bool:
        pair = self.values(left, right)
        return pair is not None and abs(pair[0] - pair[1]) <= self.difference

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        return cll.AbsoluteDifferenceLevel(self.column, self.difference)


@dataclass(frozen=True)
class EitherFlagged(_Column):
    """Either side's 0/1 column is 1 (a record from a source that uses aliases)."""

    def test(self, left: Row, right: Row) -> bool:
        return left.get(self.column) == 1 or right.get(self.column) == 1

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        # The column name is ours (a spec constant), never input.
        return cll.CustomLevel(f"{self.column}_l = 1 OR {self.column}_r = 1")


@dataclass(frozen=True)
class Combined(Expr):
    """Every part (AND) or any part (OR)."""

    parts: tuple[Expr, ...]
    every: bool

    def test(self, left: Row, right: Row) -> bool:
        results = (part.test(left, right) for part in self.parts)
        return all(results) if self.every else any(results)

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        merge = cll.And if self.every else cll.Or
        return merge(*(part.splink() for part in self.parts))


def all_of(*parts: Expr) -> Combined:
    return Combined(parts, every=True)


def any_of(*parts: Expr) -> Combined:
    return Combined(parts, every=False)


def swapped(column: str, sorted_column: str) -> Combined:
    """Two letters swapped ("Hyangusn" for Hyangsun, "Hwnag" for Hwang): the same letters
    (`sorted_column` holds them sorted) at most two edits apart, which is one slip, not two.
    (Damerau's distance would say so directly, but Spark has no such function.)"""
    return all_of(Equal(sorted_column), Levenshtein(column, 2))


def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance, stopping early once it must exceed `limit` (names are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


# --- Comparisons ------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    name: str
    label: str  # English, marked for translation; the pages translate it
    when: Expr | None  # None: the "else" level (everything the levels above did not take)
    m: float = 0.5
    u: float = 0.5
    #: Splink's `label_for_charts` when it must differ from `label` (model compatibility).
    chart_label: str | None = None
    #: Adjust the level by this column's term frequency: its u becomes the frequency of the
    #: commoner of the two values (Splink's adjustment on a level that is no exact match
    #: takes the greater of the two; the level's own u is the baseline): a rare surname
    #: agreeing is stronger evidence than 김 and 김. Set on the level, not on a test inside
    #: it: Splink's And and Or keep none of their parts' adjustments (the given name's
    #: "Same name in another spelling" lost its own so when it became an And, issue #13's
    #: sixth pass). The in-app scorer adjusts by blind-index digests instead
    #: (`scoring.TermFrequencies`).
    tf_column: str | None = None

    def splink(self) -> Any:
        import splink.comparison_level_library as cll

        level = cll.ElseLevel() if self.when is None else self.when.splink()
        if self.tf_column is not None:
            level = level.configure(
                tf_adjustment_column=self.tf_column,
                tf_adjustment_weight=1.0,
                disable_tf_exact_match_detection=True,
            )
        return level.configure(label_for_charts=self.chart_label or self.label)


@dataclass(frozen=True)
class Comparison:
    name: str  # Splink's output_column_name
    label: str
    null: Expr
    levels: tuple[Level, ...]
    #: Its columns are a name's (`engine._name_columns`): the in-app scorer takes the best
    #: pair of the two people's names on these comparisons.
    on_names: bool = False
    _by_name: dict[str, Level] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert self.levels and self.levels[-1].when is None, "the last level is the else level"
        object.__setattr__(self, "_by_name", {level.name: level for level in self.levels})

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    def level(self, name: str) -> Level:
        return self._by_name[name]

    def level_of(self, left: Row, right: Row) -> str:
        """The name of the first level the pair meets, "null" when either side is unknown."""
        if self.null.test(left, right):
            return NULL_LEVEL
        for level in self.levels:
            if level.when is None or level.when.test(left, right):
                return level.name
        raise AssertionError("unreachable: the else level takes every pair")

    def splink(self) -> Any:
        import splink.comparison_library as cl

        null = self.null.splink().configure(is_null_level=True, label_for_charts=NULL_LABEL)
        return cl.CustomComparison(
            output_column_name=self.name,
            comparison_levels=[null, *(level.splink() for level in self.levels)],
        )


def _with_defaults(
    levels: Sequence[Level], m_u: Sequence[tuple[float, float]]
) -> tuple[Level, ...]:
    """The levels with their default m and u, given in the same order."""
    return tuple(
        Level(lv.name, lv.label, lv.when, m, u, lv.chart_label, lv.tf_column)
        for lv, (m, u) in zip(levels, m_u, strict=True)
    )


def _name_comparison(
    name: str, label: str, fine: str, key: str, defaults: Sequence[tuple[float, float]]
) -> Comparison:
    """Surname or given name: fine keys intersect (any reading of either spelling), coarse
    key equal, one or two letters apart on the coarse key, [alias,] else."""
    alias = name == "given_name"
    exact: Expr = Equal(key)
    lev1: Expr = Levenshtein(key, 1)
    lev2: Expr = Levenshtein(key, 2)
    if not alias:
        # A misspelt surname ("Hwnag", "Pka", "Jng") is no Korean surname, and its coarse
        # key is then its letters, far from the surname's own: one slip apart on the letters
        # as written. Only when either surname is no known one: two known surnames one letter
        # apart (이/오, 하/한, 강/장, 전/정) are two surnames, and random pairs were more often
        # one letter apart on the coarse key (0.069 on seed 11) than of the same surname
        # (0.064), so the level said nothing; with an unknown surname it is 0.001.
        lev1 = all_of(
            EitherFlagged("surname_odd"),
            any_of(
                lev1,
                Levenshtein("surname_typo", 1),
                swapped("surname_typo", "surname_sorted"),
            ),
        )
    if alias:
        # Typing errors (issue #13): the folded letters (`korean.typo_keys`) equal or one
        # edit apart count as the coarse key would, since a typo'd token's syllable readings
        # say little ("Gyeogn-guk" for 김경국). Two Hangul given names that differ are two
        # names, not two spellings: never "Same" (백국설 and 백국솔 share the coarse key).
        exact = all_of(
            any_of(Equal(key), Equal("given_typo")),
            any_of(IsNull("given_hangul"), Equal("given_hangul")),
        )
        # Two letters swapped ("Rim-jni") are one slip, though two edits.
        lev1 = any_of(lev1, Levenshtein("given_typo", 1), swapped("given_typo", "given_sorted"))
        lev2 = any_of(lev2, Levenshtein("given_typo", 2))
    same_spelling: Expr = Intersect(fine)
    if alias:
        # Two different Hangul given names are two names even where their romanised
        # spellings share a reading (철영 and 철용 are both "Chol Yong" in the North's).
        same_spelling = all_of(same_spelling, any_of(IsNull("given_hangul"), Equal("given_hangul")))
    levels = [
        # The surname by the frequency of its coarse key (one value for every spelling). Not
        # the given name in the engine: Splink's baseline on a level that is no exact match
        # is the level's own u, and a given name's readings meet far more often than one
        # coarse key is shared, so the adjustment lifts the whole level. Weighed so (as
        # before the sixth pass, whose And dropped it unseen), FEBRL4 from names, dates and
        # suburbs fell 0.9263 → 0.8829 and the field lists 0.9692 → 0.9684 (moderate) and
        # 0.9231 → 0.9226 (harsh), though a million field-list records gained 0.008-0.010
        # (docs/linkage.md, seventh pass). The pages weigh it, bounded (`scoring`).
        Level(
            "keys_intersect",
            gettext_noop("Same name in another spelling"),
            same_spelling,
            tf_column=None if alias else key,
        ),
        Level("exact", gettext_noop("Same"), exact),
        # Not weighed by the name's frequency: at 4,000 people that gained 0.002-0.006 of F1,
        # at 1,000,000 records it cost 0.007-0.035 (docs/linkage.md, seventh pass).
        Level("lev1", gettext_noop("One letter apart"), lev1),
        Level("lev2", gettext_noop("Two letters apart"), lev2),
    ]
    if alias:
        # A given name that disagrees outright is weaker evidence against a match when a
        # record comes from a source that uses aliases; EM learns by how much.
        levels.append(
            Level(
                "alias",
                gettext_noop("Different, from a source that uses aliases"),
                EitherFlagged("alias_source"),
                chart_label=ALIAS_LEVEL_LABEL,
            )
        )
    levels.append(Level("else", gettext_noop("Different"), None))
    return Comparison(
        name,
        label,
        any_of(IsNull(fine), IsNull(key)),
        _with_defaults(levels, defaults),
        on_names=True,
    )


def _exact(column: str, name: str, label: str, m_u: Sequence[tuple[float, float]]) -> Comparison:
    levels = (
        Level("exact", gettext_noop("Same"), Equal(column)),
        Level("else", gettext_noop("Different"), None),
    )
    return Comparison(name, label, IsNull(column), _with_defaults(levels, m_u))


def _near(
    name: str, label: str, column: str, near: Level, m_u: Sequence[tuple[float, float]]
) -> Comparison:
    """Same, `near` (one letter, one year), else."""
    levels = (
        Level("exact", gettext_noop("Same"), Equal(column)),
        near,
        Level("else", gettext_noop("Different"), None),
    )
    return Comparison(
        name,
        label,
        IsNull(column),
        _with_defaults(levels, m_u),
    )


_ONE_DATE_UNKNOWN = IsNull("birth_full")
_ONE_OFF = Within("birth_year", 1)

COMPARISONS: tuple[Comparison, ...] = (
    _name_comparison(
        "surname",
        gettext_noop("Surname"),
        "surname_keys",
        "surname_group",
        # Kim, Lee and Park are common: a shared surname group is +3.2 bits. One letter
        # apart needs an unknown surname (a slip), which random pairs rarely have.
        [(0.90, 0.10), (0.04, 0.02), (0.03, 0.002), (0.01, 0.10), (0.02, 0.73)],
    ),
    _name_comparison(
        "given_name",
        gettext_noop("Given name"),
        "given_keys",
        "given_key",
        # The alias level (0.10, 0.95): given that one of the two has a record from a source
        # that uses aliases, a disagreeing given name is far less telling (-3.2 bits instead
        # of -5.6). `jikimi link` measured such disagreements at 0.36 for an alias-prone
        # source against 0.12-0.14 for the others: a trained model is the better figure.
        [(0.85, 0.002), (0.07, 0.002), (0.04, 0.01), (0.02, 0.03), (0.10, 0.95), (0.02, 0.956)],
    ),
    # Dates agree only as far as both are known: 1957-10 is compatible with 1957-10-12,
    # 1957-10-20 is not. A year off by one (a common recording error) keeps the month and
    # day, so "±1 year" asks the rest of the date not to contradict.
    Comparison(
        "birth_date",
        gettext_noop("Birth date"),
        IsNull("birth_year"),
        (
            Level("full", gettext_noop("Same full date"), Equal("birth_full"), 0.69, 0.0001),
            Level(
                "year_month",
                gettext_noop("Same year and month"),
                all_of(Equal("birth_ym"), _ONE_DATE_UNKNOWN),
                0.10,
                0.001,
            ),
            Level(
                "year",
                gettext_noop("Same year"),
                all_of(Equal("birth_year"), IsNull("birth_ym")),
                0.15,
                0.025,
            ),
            # Month and day the same, year one off: a recording error, not a coincidence
            # (u is about a 365th of the level below).
            Level(
                "year_pm1_md",
                gettext_noop("One year apart, same month and day"),
                all_of(_ONE_OFF, Equal("birth_md")),
                0.03,
                0.0001,
            ),
            Level(
                "year_pm1",
                gettext_noop("One year apart"),
                all_of(
                    _ONE_OFF,
                    any_of(
                        Equal("birth_md"),
                        all_of(
                            _ONE_DATE_UNKNOWN,
                            any_of(IsNull("birth_month"), Equal("birth_month")),
                        ),
                    ),
                ),
                0.02,
                0.05,
            ),
            Level("else", gettext_noop("Different"), None, 0.01, 0.9238),
        ),
    ),
    _exact("sex", "sex", gettext_noop("Sex"), [(0.97, 0.5), (0.03, 0.5)]),
    _exact(
        "province_code",
        "province_code",
        gettext_noop("Province of origin"),
        [(0.85, 0.15), (0.15, 0.85)],
    ),
    _near(
        "county",
        gettext_noop("County"),
        "county_key",
        Level("lev1", gettext_noop("One letter apart"), Levenshtein("county_key", 1)),
        [(0.70, 0.02), (0.05, 0.01), (0.25, 0.97)],
    ),
    _near(
        "defection",
        gettext_noop("Defection year"),
        "defection_year",
        Level("year_pm1", gettext_noop("One year apart"), Within("defection_year", 1)),
        [(0.70, 0.06), (0.20, 0.12), (0.10, 0.82)],
    ),
)
BY_NAME: dict[str, Comparison] = {c.name: c for c in COMPARISONS}


def identifier_comparison(column: str) -> Comparison:
    """An extra identifier column's key (`engine.extra_column`): exact, ≤1, ≤2 letters apart."""
    return Comparison(
        column,
        column,
        IsNull(column),
        (
            Level("exact", gettext_noop("Same"), Equal(column)),
            Level("lev1", gettext_noop("One letter apart"), Levenshtein(column, 1)),
            Level("lev2", gettext_noop("Two letters apart"), Levenshtein(column, 2)),
            Level("else", gettext_noop("Different"), None),
        ),
    )


def splink_comparisons(identifier_columns: Sequence[str] = ()) -> list[Any]:
    """The Splink comparisons, in the spec's order, then one per extra identifier column."""
    return [
        c.splink() for c in (*COMPARISONS, *(identifier_comparison(x) for x in identifier_columns))
    ]


def label(comparison: str, level: str) -> str:
    """The English label of a level (translate it where it is shown)."""
    if level == NULL_LEVEL:
        return NULL_LABEL
    found = BY_NAME.get(comparison)
    return found.level(level).label if found and level in found.level_names else level


def default_m_u() -> dict[str, dict[str, tuple[float, float]]]:
    return {c.name: {lv.name: (lv.m, lv.u) for lv in c.levels} for c in COMPARISONS}
