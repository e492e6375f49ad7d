"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs"), in
the histogram variant of google-research/disentanglement_lib (dlib ``mig.py``).

Each code column is discretised into ``num_bins=20`` equal-width bins; m[i, k] = I(code_i;
factor_k) and H_k = H(factor_k) from labels, in nats. For each factor the gap between the largest
and second-largest m[:, k], divided by H_k; MIG is the mean over factors. Key: ``discrete_mig``.
dlib draws ``num_train=10000`` points; here the caller passes the samples.

Known behaviour (reference notes §1): a factor with more than 20 values has a ceiling below 1
(log 20 / log n_k); MIG is not invariant to warps that move points between equal-width bins (a
heavy-tailed exp warp loses MI), but it is unchanged by any monotone warp that keeps the same bin
partition; the plug-in MI is biased upwards, so pure noise scores slightly above 0.

Degenerate cases: a constant code has one bin and zero MI (harmless). A duplicated code drives its
factor's gap to 0. With a single code column the second-largest MI is taken as 0 (dlib indexes
out of range). Constant factors are dropped (dlib would divide by H_k = 0).
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import (
    DEFAULT_NUM_BINS,
    check_codes,
    check_labels,
    check_pair,
    discrete_entropy,
    drop_constant_factors,
    histogram_discretize,
    mutual_information,
)


def gap_per_factor(mi: np.ndarray, entropy: np.ndarray) -> np.ndarray:
    """(largest − second-largest MI over codes) / H_k for each factor: ``(n_factors,)``.

    ``mi`` is ``(n_codes, n_factors)``; with one code the second-largest is 0.
    """
    ordered = np.sort(mi, axis=0)[::-1]
    second = ordered[1] if ordered.shape[0] > 1 else np.zeros(ordered.shape[1])
    return (ordered[0] - second) / entropy


def mig(
    codes: np.ndarray, factors: np.ndarray, *, num_bins: int = DEFAULT_NUM_BINS
) -> dict[str, float]:
    """dlib's discrete MIG of ``codes`` (n, d) against integer ``factors`` (n, K): ``discrete_mig``.

    Higher means each factor is captured by one code column much more than by any other.
    """
    codes = check_codes(codes)
    factors = check_labels(factors)
    check_pair(codes, factors)
    (factors,) = drop_constant_factors(factors, reference=factors)
    mi = mutual_information(histogram_discretize(codes, num_bins), factors)
    return {"discrete_mig": float(gap_per_factor(mi, discrete_entropy(factors)).mean())}
