"""File formats that outside tools rely on (DESIGN §8), defined once for every reader."""

from __future__ import annotations

# The person-record CSV/XLSX, read by `jikimi import people` and `jikimi link`.
PERSON_RECORD_REQUIRED = ("record_id", "source", "name")
PERSON_RECORD_OPTIONAL = (
    "name_hangul",
    "birth_date",
    "sex",
    "province",
    "county",
    "defection_year",
    "phone",
    "notes",
)
