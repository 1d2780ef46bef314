"""What a caller needs before estimating anything, with no numerical library imported: the
method names and the default seed (so that `jikimi estimate --help` and the forms load
without scipy and numba, which take seconds to import)."""

from __future__ import annotations

from collections.abc import Callable

METHODS = ("independence", "stepwise", "bic", "bma", "lcmcr")
DEFAULT_SEED = 12345

# How far a long computation is: ``progress(fraction, stage)``, fraction in [0, 1] of this
# estimate, stage one of STAGES (the app translates them). The engine calls it where it loops
# (bootstrap replicates, the BMA grid, the LCMCR chains) and never draws random numbers for it.
Progress = Callable[[float, str], None]
STAGES = ("fit", "bootstrap", "jackknife", "grid", "sampling", "quick_sampling")
