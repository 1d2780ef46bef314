"""What a caller needs before estimating anything, with no numerical library imported: the
method names and the default seed (so that `jikimi estimate --help` and the forms load
without scipy and numba, which take seconds to import)."""

from __future__ import annotations

METHODS = ("independence", "stepwise", "bic", "bma", "lcmcr")
DEFAULT_SEED = 12345
