"""The ASCII comparison columns of person records (DESIGN §6), derived once per distinct
value, and the sources that use aliases."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from jikimi.lib import fuzzy_names, korean
from jikimi.lib import records as person_record
from jikimi.lib.dates import PartialDate
from jikimi.linkage.recordfiles import Records

# Columns handed to Splink: ASCII only (DuckDB measures on bytes, Spark on characters).
# The columns of a name (`_name_columns`).
_NAME_COLUMNS = (
    "surname_group",
    "surname_keys",
    "given_key",
    "given_keys",
    "given_syl1",
    "given_syl2",
    "jamo",
    # Typo-tolerant keys of the given name (`korean.typo_keys`): folded letters, their
    # consonant skeleton, and the fine code of a Hangul
    # given name.
    "given_typo",
    "given_skel",
    "given_hangul",
    # Their letters sorted: equal with at most two edits is two letters swapped
    # (`spec.swapped`), which Levenshtein counts as two.
    "given_sorted",
    # The surname's folded letters as written, sorted, and 1 when it is no Korean surname
    # (a typo, "Hwnag"; or a foreign name): two records one slip apart on the surname.
    "surname_typo",
    "surname_sorted",
    "surname_odd",
)
# Blocking rules on a name (with at most a year) whose keys a common name shares with
# thousands of records: at 1,000,000 generated records surname + given name alone made 19.5
# million pairs (278,000 at 100,000). Each is a key column, null where more than
# BLOCK_MAX_RECORDS records share the key; such pairs still meet on the rules that add a
# date, a sex or a province, and a common name with nothing else in common scores low anyway.
CAPPED_BLOCKS: dict[str, tuple[str, ...]] = {
    "blk_name": ("surname_group", "given_key"),
    "blk_name_typo": ("surname_group", "given_typo"),
    "blk_given_year": ("given_key", "birth_year"),
    "blk_typo_year": ("given_typo", "birth_year"),
    "blk_syl1_year": ("surname_group", "given_syl1", "birth_year"),
    "blk_syl2_year": ("surname_group", "given_syl2", "birth_year"),
}
# 50 left 21 million pairs at 1,000,000 records (6.2 million from the name alone); 10 costs
# 0.0003 of F1 on the field-list seeds (bench_linkage_typos.py) and bounds each rule's pairs
# at 4.5 per record.
BLOCK_MAX_RECORDS = 10
# The same for the rules on any reading of the given name (an array) with the year, or with
# the month and day: array columns of "reading|year" ("reading|mm-dd") keys.
CAPPED_ARRAY_BLOCKS: dict[str, tuple[str, str]] = {
    "blk_readings_year": ("given_keys", "birth_year"),
    "blk_readings_md": ("given_keys", "birth_md"),
}
#: The derived columns that hold arrays (of strings).
ARRAY_COLUMNS = ("surname_keys", "given_keys", "typo_block", *CAPPED_ARRAY_BLOCKS)

DERIVED_COLUMNS = (
    "record_id",
    *_NAME_COLUMNS,
    "birth_year",
    "birth_ym",
    "birth_full",
    "birth_month",
    "birth_md",
    "sex",
    "province_code",
    "county_key",
    "defection_year",
    "alias_source",
    # Blocking only (never compared): the deletion-neighbourhood keys of the folded given name
    # with its surname group, those held by few records (`typo_block_keys`).
    "typo_block",
    # Blocking only: the folded given name with the surname's first letter, where few
    # records share it (`surname_slip_keys`).
    "blk_surname_slip",
    # Blocking only: keys of the rules that grew with the square of the records, each kept
    # only where few records share it (`CAPPED_BLOCKS`, `capped_block_key`).
    *CAPPED_BLOCKS,
    *CAPPED_ARRAY_BLOCKS,
)


def extra_column(name: str) -> str:
    """The derived (Splink) column of an extra identifier column."""
    return f"x_{name}"


def derived_columns(extra_columns: Sequence[str] = ()) -> tuple[str, ...]:
    return (*DERIVED_COLUMNS, *map(extra_column, extra_columns))


def _identifier_key(values: pd.Series) -> pd.Series:
    """ASCII letters and digits, lower case (`5304218`, `stanleystreet`); None when empty."""
    ascii_text = (
        values.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    )
    key = ascii_text.str.replace(r"[^a-z0-9]", "", regex=True)
    return key.where(key != "", None).astype(object)


_COUNTY_SUFFIX_HANGUL = re.compile(r"(시|군|구|구역|읍|지구)$")
_COUNTY_SUFFIX_LATIN = re.compile(r"[\s-]*(si|gun|gu|kun|kuyok|guyok|city|county|district)$", re.I)


def county_key(text: str) -> str | None:
    """Coarse phonetic key of a county name in any script: 회령시 and Hoeryong agree."""
    text = text.strip()
    if not text:
        return None
    if korean.is_hangul(text):
        base = _COUNTY_SUFFIX_HANGUL.sub("", text) if len(text) > 2 else text
        code = "".join(korean.hangul_syllable_codes(base))
    else:
        base = _COUNTY_SUFFIX_LATIN.sub("", text)
        readings = korean.romanised_syllable_codes(base)
        code = "".join(readings[0]) if readings else re.sub(r"[^a-z]", "", base.lower())
    return korean.coarse(code) or None


def _name_columns(name: str, name_hangul: str) -> dict[str, Any]:
    latin = korean.normalise_name(name) if name else korean.NameParts()
    hangul = korean.normalise_name(name_hangul) if name_hangul else korean.NameParts()
    if hangul.is_empty and latin.script == "hangul":
        hangul = latin
    best = hangul if not hangul.is_empty else latin
    # Every plausible split goes in the arrays, so "Ryun Kwon" meets "Kwon Ryon" whichever
    # order the parser preferred.
    surnames = set(hangul.surname_keys | latin.surname_keys)
    givens = set(hangul.given_keys | latin.given_keys)
    for alt_surnames, alt_givens in latin.alternatives:
        # Not the mirror image of a split between two Korean surnames ("Yun Won" read as 원 윤):
        # 원 would then be in both arrays and meet any "Baek Won" on the surname. Other names
        # ("Lucinda Burrill") keep both orders.
        mirror = alt_givens & latin.surname_keys or alt_surnames & latin.given_keys
        if mirror and korean.is_known_surname_code(alt_surnames | latin.surname_keys):
            continue
        surnames |= alt_surnames
        givens |= alt_givens
    surname_keys, given_keys = sorted(surnames), sorted(givens)
    syllables = [korean.coarse(s) for s in best.given_syllables]
    typo = korean.typo_keys(name_hangul) if not hangul.is_empty and name_hangul else None
    if typo is None or not typo.fold:
        typo = korean.typo_keys(name)
    return {
        "surname_group": best.surname_group or None,
        "surname_keys": surname_keys or None,
        "given_key": best.given_key or None,
        "given_keys": given_keys or None,
        "given_syl1": syllables[0] if syllables else None,
        "given_syl2": syllables[1] if len(syllables) > 1 else None,
        "jamo": best.jamo or None,
        "given_typo": typo.fold or None,
        "given_skel": typo.skeleton or None,
        "given_hangul": typo.hangul,
        "given_sorted": "".join(sorted(typo.fold)) or None,
        "surname_typo": typo.surname or None,
        "surname_sorted": "".join(sorted(typo.surname)) or None,
        "surname_odd": 0 if typo.surname_known else 1,
    }


def _map_unique(
    values: pd.Series,
    function: Callable[[Any], Any],
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> list[Any]:
    """`function` once per distinct value (names repeat across sources), then spread back."""
    codes, uniques = pd.factorize(values, sort=False)
    items: Iterable[Any] = uniques
    if progress is not None:
        items = progress(uniques)
    results = [function(value) for value in items]
    return [results[code] for code in codes]


def _name_columns_of(key: tuple[str, str]) -> dict[str, Any]:
    return _name_columns(*key)


def _derive_names(
    frame: pd.DataFrame, progress: Callable[[Iterable[Any]], Iterable[Any]] | None
) -> pd.DataFrame:
    keys = pd.Series(list(zip(frame["name"], frame["name_hangul"], strict=True)), dtype=object)
    codes, uniques = pd.factorize(keys, sort=False)
    workers = min(os.cpu_count() or 1, 8)
    if len(uniques) >= _PARALLEL_NAMES and workers > 1 and "fork" in mp.get_all_start_methods():
        # Parsing is pure Python: spread the distinct names over the cores (forked workers
        # share the parser's tables; results come back in order).
        with mp.get_context("fork").Pool(workers) as pool:
            items: Iterable[Any] = pool.imap(_name_columns_of, uniques, chunksize=2000)
            if progress is not None:
                items = progress(items)
            rows = list(items)
    else:
        items = uniques if progress is None else progress(uniques)
        rows = [_name_columns_of(key) for key in items]
    parsed = pd.DataFrame(rows)
    if parsed.empty:
        parsed = pd.DataFrame(columns=list(_NAME_COLUMNS))
    return parsed.iloc[codes].reset_index(drop=True)


_PARALLEL_NAMES = 20_000  # distinct names above which parsing uses every core


def _read_column(
    frame: pd.DataFrame, column: str, reader: Callable[[str], Any], warnings: list[str]
) -> list[Any]:
    """`reader` (the person-record reader of `jikimi.lib.records`, as the importer uses it)
    once per distinct text; a rejected value is None, with a warning naming file and row."""

    def read(text: str) -> tuple[Any, str | None]:
        try:
            return reader(text), None
        except person_record.FieldError as exc:
            return None, exc.message()

    results = _map_unique(frame[column], read)
    for location, (_, problem) in zip(frame["location"], results, strict=True):
        if problem is not None:
            warnings.append(f"{location}: column {column!r}: {problem}")
    return [value for value, _ in results]


def _date_columns(birth_dates: Sequence[PartialDate | None]) -> pd.DataFrame:
    """Year, `YYYY-MM`, `YYYY-MM-DD`, month and `MM-DD` strings (or None) of parsed dates."""
    year = pd.array([d.year if d else None for d in birth_dates], dtype="Int64")
    month = pd.Series([d.month if d else None for d in birth_dates], dtype="Int64")
    day = pd.Series([d.day if d else None for d in birth_dates], dtype="Int64")
    year_text = pd.Series(year).astype("string").str.zfill(4)
    month_text = month.astype("string").str.zfill(2)
    day_text = day.astype("string").str.zfill(2)
    ym = (year_text + "-" + month_text).astype(object)
    ymd = (year_text + "-" + month_text + "-" + day_text).astype(object)
    md = (month_text + "-" + day_text).astype(object)
    return pd.DataFrame(
        {
            "birth_year": year,
            "birth_ym": ym.where(month.notna(), None),
            "birth_full": ymd.where(day.notna(), None),
            "birth_month": month_text.astype(object).where(month.notna(), None),
            "birth_md": md.where(day.notna(), None),
        }
    )


def derive_columns(
    records: Records,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    *,
    alias_sources: Sequence[str] | None = None,
    extra_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """The ASCII comparison columns, computed once per distinct value (never once per pair).

    Names, provinces and counties are parsed once per distinct spelling; dates, sexes and
    years are parsed column-wise. Row-level problems become warnings naming file and row.
    `alias_source` is 1 for records of a source that uses aliases: `alias_sources` (a trained
    model's list) or, without it, those `alias_prone_sources` finds in the data; the list is
    kept in `derived.attrs["alias_sources"]` for the model.

    `extra_columns` are identifier columns beyond DESIGN §8's (an ID number, a postcode, a
    street), read with `read_records(paths, extra_columns)`: each becomes an ASCII key
    `x_<name>` compared exactly and by Levenshtein distance (`jikimi link` uses none; FEBRL4
    does).
    """
    frame = records.frame
    warnings = records.warnings
    names = _derive_names(frame, progress)
    no_name = names["surname_keys"].isna() & names["given_keys"].isna()
    has_text = (frame["name"].str.strip() != "") | (frame["name_hangul"].str.strip() != "")
    for location, name, readable in zip(
        frame["location"][no_name.to_numpy()],
        frame["name"][no_name.to_numpy()],
        has_text[no_name.to_numpy()],
        strict=True,
    ):
        if readable:
            warnings.append(f"{location}: column 'name': cannot read {name!r}")
        else:
            warnings.append(f"{location}: column 'name': empty name")
    today = dt.date.today()
    dates = _date_columns(
        _read_column(
            frame, "birth_date", partial(person_record.read_birth_date, today=today), warnings
        )
    )
    sex = pd.Series(_read_column(frame, "sex", person_record.read_sex, warnings), dtype=object)
    defection = pd.Series(
        _read_column(
            frame,
            "defection_year",
            partial(person_record.read_defection_year, today=today),
            warnings,
        ),
        dtype="Int64",
    )
    province = pd.Series(
        _read_column(frame, "province", person_record.read_province, warnings), dtype=object
    )
    county = pd.Series(_map_unique(frame["county"], county_key), dtype=object)
    derived = pd.concat(
        [
            frame[["record_id"]].reset_index(drop=True),
            names.reset_index(drop=True),
            dates.reset_index(drop=True),
            pd.DataFrame(
                {
                    # The readers give "" for an empty field: Splink wants NULL.
                    "sex": sex.where(sex.astype(bool), None),
                    "province_code": province.where(province.astype(bool), None),
                    "county_key": county,
                    "defection_year": defection,
                }
            ),
        ],
        axis=1,
    )
    derived["alias_source"] = 0
    derived["typo_block"] = typo_block_keys(names)
    derived["blk_surname_slip"] = surname_slip_keys(names)
    for column, parts in CAPPED_BLOCKS.items():
        derived[column] = capped_block_key(derived, parts)
    for column, (array, other) in CAPPED_ARRAY_BLOCKS.items():
        derived[column] = capped_array_key(derived, array, other)
    for column in extra_columns:
        derived[extra_column(column)] = _identifier_key(frame[column]).to_numpy()
    derived = derived[list(derived_columns(extra_columns))]
    for column in derived.columns:
        if derived[column].dtype == object:
            derived[column] = derived[column].where(derived[column].notna(), None)
    sources = frame["source"].str.strip().reset_index(drop=True)
    if alias_sources is None:
        alias_sources = alias_prone_sources(derived, sources)
    derived["alias_source"] = sources.isin(list(alias_sources)).astype("int64").to_numpy()
    derived.attrs["alias_sources"] = sorted(alias_sources)
    derived.attrs["extra_columns"] = list(extra_columns)
    return derived


# A typing-error key shared by more records than this is not blocked on: it is a common
# name's, whose pairs grow with the square of the records (and whose exact spelling the other
# rules meet). Measured on the field-list generator (bench/bench_linkage_typos.py).
TYPO_BLOCK_MAX_RECORDS = 10


def capped_block_key(
    derived: pd.DataFrame, parts: Sequence[str], cap: int = BLOCK_MAX_RECORDS
) -> list[str | None]:
    """The blocking key `parts` joined (null when one is unknown), kept only where at most
    `cap` records share it."""
    values = [derived[column].astype("string") for column in parts]
    key = values[0].str.cat(values[1:], sep="|") if len(values) > 1 else values[0]
    counts = key.map(key.value_counts(dropna=True))
    kept = key.where(counts <= cap)
    return [None if pd.isna(value) else str(value) for value in kept]


def capped_array_key(
    derived: pd.DataFrame, array: str, other: str, cap: int = BLOCK_MAX_RECORDS
) -> list[list[str] | None]:
    """For each record, "element|other" for each element of its `array` column (none when
    `other` is unknown), keeping the keys at most `cap` records share."""
    others = derived[other].astype("string")
    per_record: list[list[str]] = [
        [] if pd.isna(o) or not isinstance(values, list | tuple | np.ndarray) else
        [f"{value}|{o}" for value in values]
        for values, o in zip(derived[array], others, strict=True)
    ]  # fmt: skip
    return _keep_rare(per_record, cap)


def _keep_rare(
    key_sets: Sequence[Iterable[str]], cap: int, records: Sequence[int] | None = None
) -> list[list[str] | None]:
    """Each set of keys reduced to the keys at most `cap` records hold (`records[i]`: how
    many records hold `key_sets[i]`, one each by default), sorted; None when none is left."""
    counts: dict[str, int] = {}
    for i, keys in enumerate(key_sets):
        weight = 1 if records is None else records[i]
        for key in set(keys):
            counts[key] = counts.get(key, 0) + weight
    return [sorted({k for k in keys if counts[k] <= cap}) or None for keys in key_sets]


def typo_block_of(surname_group: str | None, given_typo: str | None) -> frozenset[str]:
    """The typing-error keys of one name: its surname group with the given name's folded
    letters (`korean.typo_keys`) and each string made from them by deleting one letter (the
    SymSpell idea, as `fuzzy_names` for people search). Two names share one exactly when
    deleting at most one letter from each makes their folded given names equal. Given names
    shorter than `fuzzy_names.MIN_LETTERS` letters get none: nearly every such name is one
    edit from another."""
    if not surname_group or not given_typo or len(given_typo) < fuzzy_names.MIN_LETTERS:
        return frozenset()
    variants = {given_typo, *(given_typo[:i] + given_typo[i + 1 :] for i in range(len(given_typo)))}
    return frozenset(f"{surname_group}:{variant}" for variant in variants)


def typo_block_keys(names: pd.DataFrame) -> list[list[str] | None]:
    """Each record's typing-error blocking keys (`typo_block_of`), from its derived name
    columns (`surname_group`, `given_typo`): one letter inserted, dropped, substituted or two
    swapped in the given name (Kim Gyeogn-guk / 김경국) puts two records on a common key.
    Only keys at most TYPO_BLOCK_MAX_RECORDS records hold are kept, so the pairs stay near
    linear in the records."""
    pairs = pd.Series(
        list(zip(names["surname_group"], names["given_typo"], strict=True)), dtype=object
    )
    codes, uniques = pd.factorize(pairs, sort=False)
    keys_of = [typo_block_of(*pair) for pair in uniques]  # names repeat across sources
    records_of = np.bincount(codes, minlength=len(uniques)).tolist()
    kept = _keep_rare(keys_of, TYPO_BLOCK_MAX_RECORDS, records_of)
    return [kept[code] for code in codes]


def surname_slip_keys(names: pd.DataFrame) -> list[str | None]:
    """The folded given name (of at least `fuzzy_names.MIN_LETTERS` letters) with the first
    letter of the surname as written (any vowel, y or w as one: "Auh" and O), kept where at
    most `BLOCK_MAX_RECORDS` records share it: a slip in the surname ("Hwnag Ŭn-ji", "Pka
    Song-hyon", "Jng Sul-hyang") leaves both, and a record with nothing but a name has no
    other key to meet its partner on. (A cap of 50 gave 6,400 pairs at 101,757 records
    against 1,500, for F1 0.7009 → 0.7013 there.)"""
    given = names["given_typo"].astype("string")
    initial = (
        names["surname_typo"].astype("string").str[:1].str.replace("[aeiouwy]", "v", regex=True)
    )
    key = given.where(given.str.len() >= fuzzy_names.MIN_LETTERS).str.cat(initial, sep="|")
    kept = key.where(key.map(key.value_counts(dropna=True)) <= BLOCK_MAX_RECORDS)
    return [None if pd.isna(value) else str(value) for value in kept]


# A source "uses aliases" when, among pairs of records that agree on the full birth date and
# surname group (and do not contradict on sex or province), its records share no given-name
# reading with the other record clearly more often than the other sources' records do.
ALIAS_MIN_PAIRS = 50
ALIAS_MIN_EXCESS = 0.1
ALIAS_MIN_Z = 4.0
ALIAS_SAMPLE = 200_000


def alias_prone_sources(derived: pd.DataFrame, sources: pd.Series) -> list[str]:
    """Sources whose records carry a different given name (an alias) unusually often.

    Measured on the data itself, with no source named in the code: pairs from two different
    sources with the same full birth date and surname group are mostly the same person, so a
    source whose records disagree on the given name in such pairs far more often than the
    rest (by at least `ALIAS_MIN_EXCESS`, and `ALIAS_MIN_Z` standard errors) is one whose
    records are often under another given name. The comparison then lets a given name
    disagree more cheaply when a record comes from such a source, and EM learns how cheaply.
    """
    keys = ["birth_full", "surname_group"]
    frame = derived[["record_id", "sex", "province_code", "given_keys", *keys]].assign(
        source=sources.to_numpy()
    )
    if len(frame) > ALIAS_SAMPLE:
        # A fixed share of the records (by a hash of the id, so the same ones every run):
        # rates need a few thousand pairs, not the million a million records give.
        hashed = pd.util.hash_pandas_object(frame["record_id"], index=False).to_numpy()
        frame = frame[hashed % len(frame) < ALIAS_SAMPLE]
    frame = frame.dropna(subset=keys)
    frame = frame[frame["source"] != ""]
    if frame["source"].nunique() < 3:
        return []
    pairs = frame.merge(frame, on=keys, suffixes=("_l", "_r"))
    pairs = pairs[
        (pairs["record_id_l"] < pairs["record_id_r"]) & (pairs["source_l"] != pairs["source_r"])
    ]

    def compatible(left: pd.Series, right: pd.Series) -> pd.Series:
        return left.isna() | right.isna() | (left == right)

    pairs = pairs[
        compatible(pairs["sex_l"], pairs["sex_r"])
        & compatible(pairs["province_code_l"], pairs["province_code_r"])
    ]
    if pairs.empty:
        return []
    differ = np.fromiter(
        (
            not (set(left or ()) & set(right or ()))
            for left, right in zip(pairs["given_keys_l"], pairs["given_keys_r"], strict=True)
        ),
        dtype=bool,
        count=len(pairs),
    )
    sides = pd.DataFrame(
        {
            "source": np.concatenate([pairs["source_l"].to_numpy(), pairs["source_r"].to_numpy()]),
            "differ": np.concatenate([differ, differ]),
        }
    )
    stats = sides.groupby("source")["differ"].agg(["sum", "size"])
    prone = []
    for source, (differing, size) in stats.iterrows():
        if size < ALIAS_MIN_PAIRS:
            continue
        rest = stats.drop(index=source)
        base = rest["sum"].sum() / max(rest["size"].sum(), 1)
        rate = differing / size
        error = np.sqrt(max(base * (1 - base), 1e-6) / size)
        if rate - base >= ALIAS_MIN_EXCESS and (rate - base) / error >= ALIAS_MIN_Z:
            prone.append(str(source))
    return prone
