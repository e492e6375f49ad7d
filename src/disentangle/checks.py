"""Every check the ``theory`` rule can build, under one signature ``build(seed, size) -> table``:
the closed-form checks of ``disentangle.theory`` and the small trained-model studies of
``disentangle.studies``. ``size`` is the number of draws, trials or training steps (ignored by
``sigmoid``)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from disentangle import studies, theory

CHECKS: dict[str, Callable[[int, int], pd.DataFrame]] = {
    **{name: build for name, build in theory.TABLES.items() if name != "sigmoid"},
    "sigmoid": lambda seed, size: theory.sigmoid_table(),
    "ivae": studies.ivae_table,
    "locatello_vae": studies.locatello_vae_table,
}


def build_check(name: str, seed: int, size: int) -> pd.DataFrame:
    """The table of check ``name``; a ValueError names the valid checks."""
    if name not in CHECKS:
        raise ValueError(f"theory check {name!r}: expected one of {sorted(CHECKS)}")
    return CHECKS[name](seed, size)
