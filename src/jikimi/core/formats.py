"""File formats that outside tools rely on (DESIGN §8), defined once for every reader.

The person-record CSV/XLSX (read by `jikimi import people` and `jikimi link`) is defined in
`jikimi.lib.records`, with the reader of its fields; these names stay for existing callers.
"""

from __future__ import annotations

from jikimi.lib.records import OPTIONAL as PERSON_RECORD_OPTIONAL
from jikimi.lib.records import REQUIRED as PERSON_RECORD_REQUIRED

__all__ = ["PERSON_RECORD_OPTIONAL", "PERSON_RECORD_REQUIRED"]
