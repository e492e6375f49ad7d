"""Every check the ``theory`` rule can build, under one signature ``build(seed, size) -> table``:
the closed-form checks of ``disentangle.theory`` (``theory.CLOSED_FORM_CHECKS``) and the small
trained-model studies of ``disentangle.generative_studies``. ``size`` is the number of draws,
trials or training steps (ignored by ``sigmoid``).

The names, and the module each check comes from, are also listed without torch in
``disentangle.registry_names.THEORY_CHECK_MODULES`` (for the config check and the workflow's code
dependencies); a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from disentangle import generative_studies, theory


def _sigmoid(seed: int, size: int) -> pd.DataFrame:
    """The sigmoid check takes neither a seed nor a size."""
    return theory.sigmoid_table()


CHECKS: dict[str, Callable[[int, int], pd.DataFrame]] = {
    **{name: build for name, build in theory.CLOSED_FORM_CHECKS.items() if name != "sigmoid"},
    "sigmoid": _sigmoid,
    "ivae": generative_studies.ivae_table,
    "locatello_vae": generative_studies.locatello_vae_table,
}


def build_check(name: str, seed: int, size: int) -> pd.DataFrame:
    """The table of check ``name``; a ValueError names the valid checks."""
    if name not in CHECKS:
        raise ValueError(f"theory check {name!r}: expected one of {sorted(CHECKS)}")
    return CHECKS[name](seed, size)
