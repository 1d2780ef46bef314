"""Probabilistic linkage of person records (DESIGN §6, §8) with Splink 5.

The flow: read and validate person-record CSVs → derive ASCII comparison columns once per
record (`jikimi.lib.korean`) → train a Fellegi–Sunter model with EM on the data itself →
score blocked pairs → connected components above the threshold → clusters.

Training always runs in embedded DuckDB; scoring runs on DuckDB or Spark. The comparisons use
only exact matches, Levenshtein distances on ASCII, array intersections and integer
differences, which both engines compute identically, so one trained model gives the same
clusters on either backend.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import logging
import multiprocessing as mp
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jikimi.lib import korean
from jikimi.lib import records as person_record
from jikimi.lib.dates import PartialDate
from jikimi.linkage import spec

MODEL_FORMAT_VERSION = 2  # 2: alias_sources and the given-name alias level
REQUIRED_COLUMNS = person_record.REQUIRED
OPTIONAL_COLUMNS = person_record.OPTIONAL
DEFAULT_THRESHOLD = 0.5  # see docs/linkage.md, "Threshold"
DUCKDB_MEMORY_LIMIT = os.environ.get("JIKIMI_DUCKDB_MEMORY_LIMIT", "3GB")

# Columns handed to Splink: ASCII only (DuckDB measures on bytes, Spark on characters).
DERIVED_COLUMNS = (
    "record_id",
    "surname_group",
    "surname_keys",
    "given_key",
    "given_keys",
    "given_syl1",
    "given_syl2",
    "jamo",
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
)

log = logging.getLogger(__name__)


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


# --- Derived columns ------------------------------------------------------------------------

_EXTRA_NAME = re.compile(r"[a-z][a-z0-9_]{0,40}")


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
    return {
        "surname_group": best.surname_group or None,
        "surname_keys": surname_keys or None,
        "given_key": best.given_key or None,
        "given_keys": given_keys or None,
        "given_syl1": syllables[0] if syllables else None,
        "given_syl2": syllables[1] if len(syllables) > 1 else None,
        "jamo": best.jamo or None,
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
_NAME_COLUMNS = (
    "surname_group",
    "surname_keys",
    "given_key",
    "given_keys",
    "given_syl1",
    "given_syl2",
    "jamo",
)


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


# --- The Splink model -----------------------------------------------------------------------


ALIAS_LEVEL_LABEL = spec.ALIAS_LEVEL_LABEL


def _comparisons(extra_columns: Sequence[str] = ()) -> list[Any]:
    """The Splink comparisons of the spec (`spec.py`, also the in-app scorer's), with one for
    each extra identifier column's key."""
    return spec.splink_comparisons([extra_column(column) for column in extra_columns])


def _prediction_blocking_rules(blocking_columns: Sequence[str] = ()) -> list[Any]:
    """Equality joins only (no Cartesian blocks), each on keys rare enough that the number of
    pairs grows near-linearly with the records. Any rule that matches a pair is enough."""
    from splink import block_on

    return [
        block_on("surname_group", "given_key"),
        block_on("given_key", "birth_year"),
        # Any reading of the given name ("Mingyong" is read min-gyong and ming-yong): not with
        # the surname, whose token a non-Korean name also offers as a given name ("Reid
        # Georgia" would meet every "Reid").
        block_on("given_keys", "birth_year", arrays_to_explode=["given_keys"]),
        # ... and with the month and day, which survive a year recorded one off.
        block_on("given_keys", "birth_md", arrays_to_explode=["given_keys"]),
        # A misspelt surname and a year off by one (which keeps the month).
        block_on("given_key", "sex", "province_code", "birth_month"),
        # The full date and surname: a misspelt or different given name (aliases). The full
        # date alone grew quadratically (12 million pairs at 1,000,000 records) for no gain
        # on the generated tiers; it cost FEBRL4 on names alone 0.957 → 0.93.
        block_on("birth_full", "surname_group"),
        block_on("surname_group", "given_syl1", "birth_year"),
        block_on("surname_group", "given_syl2", "birth_year"),
        # Surname and given name written in each other's place.
        "l.surname_group = r.given_key AND l.given_key = r.surname_group",
        # Aliases with a partial date: the same surname, year and month, sex and province.
        # (Surname, year, sex and province reached a third more pairs at 100,000 records,
        # grew quadratically, and linked almost none of them: such a pair is ambiguous.)
        block_on("surname_group", "birth_ym", "sex", "province_code"),
        # Aliases (or a given name misspelt beyond recognition) with the year recorded one off:
        # the same surname, month and day, province and sex. (Without the sex it gave 160,000
        # pairs at 100,000 records, growing with the square of the records.)
        block_on("surname_group", "birth_md", "province_code", "sex"),
        # Extra identifier columns whose values are rare enough (`blocking_extra_columns`).
        *(block_on(extra_column(column)) for column in blocking_columns),
    ]


def blocking_extra_columns(derived: pd.DataFrame, extra_columns: Sequence[str]) -> list[str]:
    """The extra columns rare enough to block on alone: at most 5 pairs per record."""
    chosen = []
    for column in extra_columns:
        counts = derived[extra_column(column)].value_counts(dropna=True).to_numpy(np.int64)
        if int((counts * (counts - 1) // 2).sum()) <= 5 * max(len(derived), 1):
            chosen.append(column)
    return chosen


def settings_creator(
    extra_columns: Sequence[str] = (), blocking_columns: Sequence[str] = ()
) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_id",
        comparisons=_comparisons(extra_columns),
        blocking_rules_to_generate_predictions=_prediction_blocking_rules(blocking_columns),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=20,
    )


def duckdb_api() -> Any:
    """Splink's DuckDB backend on an in-memory connection whose progress bar is off (DuckDB
    prints it to stdout, which is the command's output); our own bar goes to stderr."""
    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(":memory:")
    connection.execute("SET enable_progress_bar = false")
    connection.execute("SET preserve_insertion_order = false")
    # Joins and aggregations beyond this spill to disk, which keeps a million-record run's peak
    # memory (with the pandas frames next to it) well under 8 GB.
    spill = Path(tempfile.gettempdir()) / "jikimi-duckdb"
    spill.mkdir(exist_ok=True)
    connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{spill.as_posix()}'")
    return DuckDBAPI(connection=connection)


def _silence_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def train_model(derived: pd.DataFrame, *, seed: int = 42) -> dict[str, Any]:
    """Train on the data itself (EM) in DuckDB; return the versioned model JSON (a dict)."""
    from splink import Linker, block_on

    _silence_splink()
    db_api = duckdb_api()
    table = db_api.register(_to_splink_frame(derived), dataset_display_name="people")
    extra_columns = list(derived.attrs.get("extra_columns", []))
    blocking_columns = blocking_extra_columns(derived, extra_columns)
    linker = Linker(
        table, settings_creator(extra_columns, blocking_columns), log_level=logging.ERROR
    )
    n = len(derived)
    # The rule can only find pairs where both records have every column it uses: scale its
    # recall on complete pairs (0.8) by the chance that a pair is complete, or λ (and with it
    # every probability) collapses when birth dates are mostly missing.
    deterministic = ("surname_group", "given_key", "birth_year")
    complete = float(np.prod([derived[c].notna().mean() ** 2 for c in deterministic]))
    recall = min(1.0, max(0.8 * complete, 0.005))
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*deterministic)], recall=recall
        )
    except ValueError as exc:
        # More rule matches than that recall allows (small files): use the smallest it allows.
        floor = re.search(r"recall must be at least ([0-9.]+)", str(exc))
        if floor is None:
            raise
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*deterministic)], recall=min(1.0, float(floor.group(1).rstrip(".")) + 0.01)
        )
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(1e6, max(1e5, n * 20)), seed=seed
    )
    # EM samples records (by a hash of the id) so that training stays bounded at any size.
    max_pairs = 5e5
    # Two sessions, each blind to the columns it blocks on: names train the other fields
    # and birth date trains the names. The second uses the first rule whose columns the data
    # has (FEBRL-like files have no sex or province).
    #
    # The full birth date trains the names best: within its block most pairs that share a
    # surname are the same person, so EM sees how often one person's given names disagree
    # (aliases); within year+sex+province such a pair looks like two strangers of one surname
    # and EM learned that given names almost never disagree (m 0.013 instead of 0.12 on
    # "typical", F1 0.920 → 0.944). When few records have a full date (under
    # FULL_DATE_TRAINING_SHARE) its block is too small and unrepresentative: missing_90
    # fell from 0.67 to 0.37 with it, so year+sex+province trains the names there.
    names_rules = [("birth_year", "sex", "province_code"), ("birth_year", "county_key")]
    if derived["birth_full"].notna().mean() >= FULL_DATE_TRAINING_SHARE:
        names_rules = [("birth_full",), *names_rules]
    else:
        names_rules = [*names_rules, ("birth_full",)]
    for candidates in ([("surname_group", "given_key")], names_rules):
        # A rule that gives no pairs makes Splink raise mid-session (and leave the session's
        # comparisons switched off), so check the data first.
        usable = [c for c in candidates if derived.dropna(subset=list(c)).duplicated(list(c)).any()]
        if usable:
            _expectation_maximisation(linker, block_on(*usable[0]), max_pairs)
        else:
            log.warning("no pairs to train on for %s; keeping earlier estimates", candidates)
    splink_model = linker.misc.save_model_to_json()
    # EM can drive an unobserved level's m towards 0 (e.g. 1e-316), which Splink refuses to
    # load back; a tiny floor keeps the model loadable and changes no decision.
    for comparison in splink_model["comparisons"]:
        for level in comparison["comparison_levels"]:
            for key in ("m_probability", "u_probability"):
                if key in level and level[key] is not None:
                    level[key] = max(float(level[key]), 1e-12)
    return {
        "format": "jikimi.linkage.model",
        "version": MODEL_FORMAT_VERSION,
        "alias_sources": list(derived.attrs.get("alias_sources", [])),
        "extra_columns": extra_columns,
        "extra_blocking_columns": blocking_columns,
        "splink_version": _splink_version(),
        "trained_on_records": n,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "splink_model": splink_model,
    }


FULL_DATE_TRAINING_SHARE = 0.4


def _expectation_maximisation(linker: Any, rule: Any, max_pairs: float | None) -> None:
    """One EM session; if a level's m underflows (a level no match ever reaches, e.g. a year
    off by one in clean data), Splink 5 raises mid-EM: retry with fewer iterations."""
    from splink.internals.settings import TrainingSettings

    convergence = linker._settings_obj.training_settings.em_convergence
    # A session takes the comparisons its rule blocks on out of the model and changes λ in
    # place; if it raises, they stay out (seed 1 of "typical" lost the birth date and λ became
    # 0.39: precision 0.50). Each attempt starts from a copy taken before.
    before = linker._settings_obj.core_model_settings.copy()
    for iterations in (20, 8, 3):
        linker._settings_obj.core_model_settings = before.copy()
        linker._settings_obj.training_settings = TrainingSettings(convergence, iterations)
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=max_pairs
            )
            return
        except ValueError as exc:
            if "below the minimum allowed" not in str(exc):
                raise
    linker._settings_obj.core_model_settings = before
    log.warning("EM on %s did not converge; keeping earlier estimates", rule)


def _splink_version() -> str:
    import splink

    return str(splink.__version__)


def _to_splink_frame(derived: pd.DataFrame) -> pd.DataFrame:
    frame = derived.copy()
    for column in ("birth_year", "defection_year", "grp"):
        if column in frame.columns:  # NaN, not pd.NA, for every engine
            frame[column] = frame[column].astype("float64")
    return frame


# --- Scoring on a backend -------------------------------------------------------------------


def predict_pairs(
    derived: pd.DataFrame,
    model: dict[str, Any],
    *,
    backend: str = "duckdb",
    threshold: float | None = None,
) -> pd.DataFrame:
    """Scored pairs `record_id_l, record_id_r, match_probability` (optionally thresholded)."""
    return score_pairs(derived, model, backend=backend, floor=threshold).to_pandas(threshold)


@dataclass
class ScoredPairs:
    """Every blocked pair, scored and kept in the backend: a million records give tens of
    millions of pairs, and only a few of them are ever needed in Python."""

    frame: Any  # a SplinkDataFrame of the backend's predictions
    db_api: Any
    derived: pd.DataFrame
    model: dict[str, Any]
    backend: str
    floor: float | None = None  # only pairs at or above this were kept (None: every pair)

    def to_pandas(self, threshold: float | None = None) -> pd.DataFrame:
        """The pairs (at or above `threshold`), lower record id on the left."""
        if self.floor is not None and (threshold is None or threshold < self.floor):
            raise ValueError(f"only pairs at or above {self.floor} were kept")
        where = "" if threshold is None else f" WHERE match_probability >= {float(threshold)!r}"
        # A float and Splink's own table name: nothing from the input reaches the SQL.
        sql = f"SELECT record_id_l, record_id_r, match_probability FROM {{this}}{where}"  # noqa: S608
        return _normalised_pairs(self.frame.query_sql(sql).as_pandas_dataframe())

    def within(self, groups: pd.DataFrame) -> pd.DataFrame:
        """Every pair of records in the same group (`record_id, grp`), scored.

        Blocking scored only the pairs that share a blocking key; two records of a candidate
        cluster that share none (another given name and another birth year) are strong
        evidence that the cluster is two people, so groups of up to `DENSE_GROUP_MAX` records
        have all their pairs scored, with the same model (term frequencies of the whole
        file). Larger groups (long chains of common names, rare) use the pairs blocking
        scored that were kept (`floor`).
        """
        if groups.empty:
            return _normalised_pairs(pd.DataFrame(columns=["record_id_l", "record_id_r"]))
        sizes = groups["grp"].map(groups["grp"].value_counts())
        dense, sparse = groups[sizes <= DENSE_GROUP_MAX], groups[sizes > DENSE_GROUP_MAX]
        parts = []
        if not dense.empty:
            grp = self.derived["record_id"].map(dense.set_index("record_id")["grp"])
            with_groups = self.derived.assign(grp=grp.astype("Int64"))
            with_groups.attrs = dict(self.derived.attrs)
            frame, _ = _predict(
                with_groups, self.model, self.backend, blocking_rules=["l.grp = r.grp"]
            )
            parts.append(frame.as_pandas_dataframe())
        if not sparse.empty:
            table = self.db_api.register(
                sparse.astype({"record_id": str, "grp": "int64"}),
                table_name=f"__jikimi_groups_{id(sparse)}",
            )
            # Table names are ours; the record ids travel as data.
            groups_table = table.physical_name
            sql = (
                "SELECT p.record_id_l, p.record_id_r, p.match_probability FROM {this} p"  # noqa: S608
                f" JOIN {groups_table} gl ON gl.record_id = p.record_id_l"
                f" JOIN {groups_table} gr ON gr.record_id = p.record_id_r WHERE gl.grp = gr.grp"
            )
            parts.append(self.frame.query_sql(sql).as_pandas_dataframe())
        return _normalised_pairs(pd.concat([p[_PAIR_COLUMNS] for p in parts], ignore_index=True))


DENSE_GROUP_MAX = 300  # 44,850 pairs at most per group
_PAIR_COLUMNS = ["record_id_l", "record_id_r", "match_probability"]


def score_pairs(
    derived: pd.DataFrame,
    model: dict[str, Any],
    *,
    backend: str = "duckdb",
    floor: float | None = None,
) -> Any:
    """Score every blocked pair on `backend`; the result stays there (`ScoredPairs`), keeping
    only pairs at or above `floor` when one is given (a million records give tens of millions
    of pairs; writing them all out doubled the time of scoring)."""
    frame, db_api = _predict(derived, model, backend, floor=floor)
    return ScoredPairs(
        frame=frame, db_api=db_api, derived=derived, model=model, backend=backend, floor=floor
    )


def _predict(
    derived: pd.DataFrame,
    model: dict[str, Any],
    backend: str,
    blocking_rules: Sequence[str] | None = None,
    floor: float | None = None,
) -> tuple[Any, Any]:
    from splink import Linker

    _silence_splink()
    settings = model["splink_model"]
    if backend == "duckdb":
        db_api = duckdb_api()
        table = db_api.register(_to_splink_frame(derived), dataset_display_name="people")
    elif backend == "spark":
        db_api, table = _spark_table(derived)
        settings = _with_dialect(model, "spark")
    else:
        raise ValueError(f"unknown backend {backend!r}")
    if blocking_rules is not None:
        dialect = "spark" if backend == "spark" else "duckdb"
        settings = {
            **settings,
            "blocking_rules_to_generate_predictions": [
                {"blocking_rule": rule, "sql_dialect": dialect} for rule in blocking_rules
            ],
        }
    linker = Linker(table, settings, log_level=logging.ERROR)
    scored = linker.inference.predict(threshold_match_probability=floor, warning_mode="never")
    return scored, db_api


def _normalised_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Lower id on the left and one row per pair, sorted, whichever engine scored it."""
    left_ids = pairs["record_id_l"].astype(str)
    right_ids = pairs["record_id_r"].astype(str)
    pairs = pd.DataFrame(
        {
            "record_id_l": np.minimum(left_ids, right_ids),
            "record_id_r": np.maximum(left_ids, right_ids),
            "match_probability": pd.to_numeric(
                pairs.get("match_probability", pd.Series(dtype=float)), errors="coerce"
            ).astype(float),
        }
    )
    return pairs.sort_values(["record_id_l", "record_id_r"], kind="stable").reset_index(drop=True)


def _with_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The trained parameters on SQL written for another engine (the saved JSON holds DuckDB's
    `list_intersect`; Spark needs `array_intersect`)."""
    trained = model["splink_model"]
    fresh = settings_creator(
        model.get("extra_columns", ()), model.get("extra_blocking_columns", ())
    ).create_settings_dict(dialect)
    for comparison, learnt in zip(fresh["comparisons"], trained["comparisons"], strict=True):
        for level, learnt_level in zip(
            comparison["comparison_levels"], learnt["comparison_levels"], strict=True
        ):
            for key in ("m_probability", "u_probability"):
                if learnt_level.get(key) is not None:
                    level[key] = learnt_level[key]
    fresh["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    return fresh


_SPARK_SESSION: Any = None


def spark_session() -> Any:
    """A local Spark session (`--backend spark`); pyspark is the optional `spark` extra."""
    global _SPARK_SESSION
    if _SPARK_SESSION is None:
        import os

        from pyspark.sql import SparkSession

        # Spark's Python workers must run this interpreter, not whatever `python3` is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

        _SPARK_SESSION = (
            SparkSession.builder.master("local[2]")
            .appName("jikimi-linkage")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.driver.memory", "4g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        _SPARK_SESSION.sparkContext.setLogLevel("ERROR")
        _SPARK_SESSION.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="jikimi-spark-"))
    return _SPARK_SESSION


def _spark_table(derived: pd.DataFrame) -> tuple[Any, Any]:
    from pyspark.sql import types as T
    from splink import SparkAPI

    spark = spark_session()
    columns = list(derived_columns(derived.attrs.get("extra_columns", ())))
    if "grp" in derived.columns:  # `ScoredPairs.within`
        columns.append("grp")
    string, strings, number = T.StringType(), T.ArrayType(T.StringType()), T.LongType()
    schema = T.StructType(
        [
            T.StructField(
                column,
                strings
                if column in ("surname_keys", "given_keys")
                else number
                if column in ("birth_year", "defection_year", "alias_source", "grp")
                else string,
            )
            for column in columns
        ]
    )
    rows = [
        tuple(None if _is_missing(value) else _plain(value) for value in row)
        for row in derived[columns].itertuples(index=False, name=None)
    ]
    frame = spark.createDataFrame(rows, schema=schema)
    # Local mode: persist intermediate tables in memory rather than writing them to parquet.
    db_api = SparkAPI(
        spark_session=spark,
        register_udfs_automatically=False,
        break_lineage_method="persist",
        num_partitions_on_repartition=4,
    )
    # The session is shared and keeps its tables: each scoring registers under its own name.
    name = f"people_{next(_SPARK_TABLES)}"
    return db_api, db_api.register(frame, dataset_display_name=name)


_SPARK_TABLES = itertools.count(1)


def _is_missing(value: Any) -> bool:
    if isinstance(value, list):
        return False
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    return value


# --- Clusters -------------------------------------------------------------------------------


def cluster_records(
    record_ids: Sequence[str], pairs: pd.DataFrame, threshold: float
) -> pd.DataFrame:
    """Clusters from scored pairs (a frame holding every scored pair, or at least every pair
    between records that a pair at or above the threshold connects); see `cluster_scored`."""

    def within(groups: pd.DataFrame) -> pd.DataFrame:
        group_of = dict(zip(groups["record_id"], groups["grp"], strict=True))
        left = pairs["record_id_l"].map(group_of)
        right = pairs["record_id_r"].map(group_of)
        return pairs[left.notna() & (left == right)]

    strong = pairs[pairs["match_probability"] >= threshold]
    return _clusters(record_ids, strong, within, threshold)


def cluster_scored(
    record_ids: Sequence[str], scored: ScoredPairs, threshold: float
) -> pd.DataFrame:
    """Clusters from pairs scored in the backend (only the pairs clustering needs leave it)."""
    return _clusters(record_ids, scored.to_pandas(threshold), scored.within, threshold)


def _clusters(
    record_ids: Sequence[str],
    strong: pd.DataFrame,
    pairs_within: Callable[[pd.DataFrame], pd.DataFrame],
    threshold: float,
) -> pd.DataFrame:
    """Correlation clustering of the scored pairs; cluster id = smallest record id.

    Each scored pair weighs `logit2(p) − logit2(threshold)` bits; an unscored pair weighs
    nothing. Greedy additive edge contraction (correlation clustering): join the two clusters
    whose pairs together weigh the most, while that sum is at least 0 — two groups become one
    person when their pairs, on balance, clear the threshold. A single pair at or above the
    threshold still links two records on its own, but it no longer chains two groups that the
    rest of their pairs say are different people (connected components did: "Lee Jin-mi" and
    "Lee Il-il" joined through one alias record that fits both).

    Only groups connected by pairs at or above the threshold can gain a member (every other
    pair weighs less than 0), so connected components of those pairs are found first and the
    contraction runs inside the components of three or more records, on the pairs within
    them (`pairs_within`, which the backend answers). Done here rather than by the backend so
    that every backend clusters the same pairs the same way.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ids = np.asarray(sorted(record_ids), dtype=object)
    index = {record_id: i for i, record_id in enumerate(ids)}
    rows = np.fromiter((index[r] for r in strong["record_id_l"]), dtype=np.int64, count=len(strong))
    cols = np.fromiter((index[r] for r in strong["record_id_r"]), dtype=np.int64, count=len(strong))
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(ids), len(ids))
    )
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    big = sizes[labels] >= 3
    if big.any():
        groups = pd.DataFrame({"record_id": ids[big], "grp": labels[big]})
        edges = pairs_within(groups)
        offset = _logit2(threshold)
        weights = np.round(_logit2(edges["match_probability"].to_numpy(float)) - offset, 6)
        left = np.fromiter((index[r] for r in edges["record_id_l"]), np.int64, len(edges))
        right = np.fromiter((index[r] for r in edges["record_id_r"]), np.int64, len(edges))
        labels = labels.copy()
        labels[big] = len(ids) + _contract(left, right, weights, len(ids))[big]
    # ids are sorted, so the first member of each cluster is its smallest record id.
    first_member: dict[int, str] = {}
    for i, label in enumerate(labels):
        first_member.setdefault(int(label), ids[i])
    return pd.DataFrame(
        {"record_id": ids, "cluster_id": [first_member[int(label)] for label in labels]}
    )


def _logit2(p: Any) -> Any:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return np.log2(p) - np.log2(1 - p)


def _contract(left: np.ndarray, right: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Greedy additive edge contraction: a cluster label for every node index (nodes without
    an edge keep their own index). Deterministic: ties go to the smaller node indices."""
    import heapq

    adjacency: dict[int, dict[int, float]] = {}
    for a, b, w in zip(left.tolist(), right.tolist(), weights.tolist(), strict=True):
        adjacency.setdefault(a, {})
        adjacency.setdefault(b, {})
        adjacency[a][b] = adjacency[a].get(b, 0.0) + w
        adjacency[b][a] = adjacency[a][b]
    heap = [
        (-w, a, b) for a, near in adjacency.items() for b, w in near.items() if a < b and w >= 0
    ]
    heapq.heapify(heap)
    parent: dict[int, int] = {}
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a in parent or b in parent or adjacency[a].get(b) != -negative:
            continue  # a stale entry: one side was merged, or the sum has changed
        if len(adjacency[a]) < len(adjacency[b]):
            a, b = b, a
        parent[b] = a
        into = adjacency[a]
        del into[b]
        for c, w in adjacency.pop(b).items():
            if c == a:
                continue
            near = adjacency[c]
            del near[b]
            total = round(into.get(c, 0.0) + w, 6)
            into[c] = near[a] = total
            if total >= 0:
                heapq.heappush(heap, (-total, min(a, c), max(a, c)))
    labels = np.arange(n)

    def root(node: int) -> int:
        while node in parent:
            node = parent[node]
        return node

    for node in parent:
        labels[node] = root(node)
    return labels


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
