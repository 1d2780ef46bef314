from __future__ import annotations

# The cases tests' synthetic person, case and API client serve the drafts' tests too.
from jikimi.cases.tests.conftest import api, case, person, smtp  # noqa: F401
