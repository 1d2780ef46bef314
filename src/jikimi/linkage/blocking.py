"""The prediction blocking rules: equality joins only, on keys rare enough that the number
of pairs grows near-linearly with the records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jikimi.linkage.features import extra_column


def _prediction_blocking_rules(blocking_columns: Sequence[str] = ()) -> list[Any]:
    """Equality joins only (no Cartesian blocks), each on keys rare enough that the number of
    pairs grows near-linearly with the records. Any rule that matches a pair is enough."""
    from splink import block_on

    return [
        # Name, and name and year, where few records share them (`features.CAPPED_BLOCKS`).
        block_on("blk_name"),
        block_on("blk_given_year"),
        # Any reading of the given name ("Mingyong" is read min-gyong and ming-yong): not with
        # the surname, whose token a non-Korean name also offers as a given name ("Reid
        # Georgia" would meet every "Reid").
        # (Both where few records share the key: `features.CAPPED_ARRAY_BLOCKS`.)
        block_on("blk_readings_year", arrays_to_explode=["blk_readings_year"]),
        # ... and with the month and day, which survive a year recorded one off.
        block_on("blk_readings_md", arrays_to_explode=["blk_readings_md"]),
        # A misspelt surname and a year off by one (which keeps the month).
        block_on("given_key", "sex", "province_code", "birth_month"),
        # The full date and surname: a misspelt or different given name (aliases). The full
        # date alone grew quadratically (12 million pairs at 1,000,000 records) for no gain
        # on the generated tiers; it cost FEBRL4 on names alone 0.957 → 0.93.
        block_on("birth_full", "surname_group"),
        block_on("blk_syl1_year"),
        block_on("blk_syl2_year"),
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
        # Typing errors (issue #13): the given name's folded letters with the surname (records
        # with nothing but a name have no date to block on) and with the year; the consonant
        # skeleton, which survives a slip on a vowel, with surname and year.
        block_on("blk_name_typo"),
        block_on("blk_typo_year"),
        block_on("surname_group", "given_skel", "birth_year"),
        # One typing error in the given name, with the same surname group, on keys few
        # records hold (`features.typo_block_keys`): 490 of seed 11's 719 true pairs no
        # other rule met.
        block_on("typo_block", arrays_to_explode=["typo_block"]),
        # A slip in the surname ("Hwnag Ŭn-ji"): the folded given name and the surname's
        # first letter, where few records share them, and one of the two surnames no Korean
        # one (`features.surname_slip_keys`).
        "l.blk_surname_slip = r.blk_surname_slip AND (l.surname_odd = 1 OR r.surname_odd = 1)",
        # (The skeleton with the first letters instead of the year, for name-only records, gave
        # 680,000 pairs at 100,000 records, growing with the square of the records.)
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
