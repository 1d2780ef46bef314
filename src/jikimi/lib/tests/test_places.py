"""The province vocabulary: one list of codes, every spelling of it, the canonical codes."""

from __future__ import annotations

import pytest

from jikimi.lib import places
from jikimi.lib.korean import province_code

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize("province", places.PROVINCES, ids=lambda p: p.code)
def test_every_name_and_code_of_a_province_reads_as_its_code(province: places.Province) -> None:
    for spelling in (province.code, province.code.lower(), province.hangul, province.english):
        assert province_code(spelling) == province.code, spelling


@pytest.mark.parametrize("text", ["KP-11", "KP-99", "KP-", "XX-01"])
def test_a_code_outside_the_vocabulary_is_not_a_province(text: str) -> None:
    assert province_code(text) is None


def test_the_people_form_offers_exactly_the_vocabulary() -> None:
    from jikimi.people.forms import PROVINCES

    assert [code for code, _ in PROVINCES] == [p.code for p in places.PROVINCES]
