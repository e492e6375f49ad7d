"""Interventional Robustness Score (Suter, Miladinović, Schölkopf & Bauer 2019, "Robustly
Disentangled Causal Mechanisms"), as google-research/disentanglement_lib (dlib ``irs.py``)
computes it from observational samples.

The factors go through the 20-bin histogram discretiser (factors with more than 20 values get
merged). Code columns with variance exactly 0 are dropped. For each factor i and each of its
discretised values v: e = E[z | g_i = v] and the ``diff_quantile`` (default 0.99; the paper uses
1.0) quantile of |z − e| per code; average over the values and divide by the code's largest
|z − mean z|. IRS matrix = 1 − that ratio (codes × factors); a code's score is its max over
factors; ``IRS`` is the average over codes weighted by each code's largest deviation.
``num_active_dims`` counts the non-constant codes. dlib: num_train=10000, batch_size=16.

The method assumes every factor combination is present with equal probability (uniform grid
samples). A perfect code scores 1 (fixing its factor fixes it); a rotated code is lower; pure
Gaussian noise stays well above 0 (the 99th percentile of |z| is about 2.6 sd against a maximum of
about 3.5-4 sd), so read IRS relative to a noise baseline.

Degenerate cases: all codes constant → ``IRS`` 0.0 and ``num_active_dims`` 0 (as dlib). Factors
constant in the data are dropped, for consistency with the other metrics (dlib keeps them; a
constant factor's column can only add a spurious maximum). Factors may be integer labels or
continuous values, since both are discretised.
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import (
    DEFAULT_NUM_BINS,
    check_codes,
    check_pair,
    constant_factors,
    histogram_discretize,
)


def irs_matrix(codes: np.ndarray, factor_labels: np.ndarray, diff_quantile: float) -> np.ndarray:
    """1 − (mean over values of the quantile of |z − E[z | g_i]|) / max |z − E z|: (codes, f).

    ``codes`` must have no constant column (its largest deviation would be 0).
    """
    max_dev = np.abs(codes - codes.mean(axis=0)).max(axis=0)
    dev = np.zeros((codes.shape[1], factor_labels.shape[1]))
    for i in range(factor_labels.shape[1]):
        values = np.unique(factor_labels[:, i])
        for v in values:
            group = codes[factor_labels[:, i] == v]
            spread = np.abs(group - group.mean(axis=0))
            dev[:, i] += np.quantile(spread, diff_quantile, axis=0)
        dev[:, i] /= values.size
    return 1.0 - dev / max_dev[:, None]


def irs(
    codes: np.ndarray,
    factors: np.ndarray,
    *,
    diff_quantile: float = 0.99,
    num_bins: int = DEFAULT_NUM_BINS,
) -> dict[str, float]:
    """dlib's IRS: how little each code moves when its best factor is held fixed (``IRS``).

    Also returns ``num_active_dims``, the number of non-constant code columns.
    """
    if not 0.0 < float(diff_quantile) <= 1.0:
        raise ValueError(f"diff_quantile = {diff_quantile}: expected a number in (0, 1]")
    codes = check_codes(codes)
    factors = check_codes(factors, "factors")
    check_pair(codes, factors)
    keep = ~constant_factors(factors)
    if not keep.any():
        raise ValueError(
            f"factors: all {factors.shape[1]} factor(s) take a single value; "
            "expected at least one factor with two or more values"
        )
    active = codes.var(axis=0) > 0
    if not active.any():
        return {"IRS": 0.0, "num_active_dims": 0.0}
    codes = codes[:, active]
    labels = histogram_discretize(factors[:, keep], num_bins)
    per_code = irs_matrix(codes, labels, float(diff_quantile)).max(axis=1)
    weights = np.abs(codes - codes.mean(axis=0)).max(axis=0)
    return {
        "IRS": float(np.average(per_code, weights=weights)),
        "num_active_dims": float(active.sum()),
    }
