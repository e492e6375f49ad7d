"""Mean Correlation Coefficient, the identifiability score of Khemakhem et al. 2020 (iVAE,
"Variational Autoencoders and Nonlinear ICA: A Unifying Framework"; ``metrics/mcc.py`` in
ilkhem/iVAE).

Build the |correlation| matrix between every true source and every code column, Pearson by
default (iVAE's default) or Spearman (``correlation="spearman"``, invariant to any strictly
monotone per-coordinate map); solve the linear assignment that maximises the total matched
|correlation| (``scipy.optimize.linear_sum_assignment``); MCC is the mean matched |correlation|.
It ignores permutation and sign (and, with Spearman, monotone warps). Key: ``mcc``.

Differences from iVAE, and why: the reference needs as many codes as sources; here the two may
differ. With more codes than sources, each source is matched to a distinct code and the unmatched
codes are ignored (a model with spare latents is not penalised); with fewer codes than sources, the
unmatched sources count as 0 (information that is missing is penalised). The mean is over the
sources. A constant code column has correlation 0 with everything; sources that are constant are
dropped (nothing to recover). Sources may be continuous (floats) or integer labels.
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import check_codes, check_pair, constant_factors

CORRELATIONS = ("pearson", "spearman")


def abs_correlation(codes: np.ndarray, sources: np.ndarray, correlation: str) -> np.ndarray:
    """|Pearson| or |Spearman| correlation of every (code, source) pair: ``(n_codes, n_src)``.

    A constant column (no variance) gets correlation 0.
    """
    if correlation not in CORRELATIONS:
        raise ValueError(f"correlation = {correlation!r}: expected one of {CORRELATIONS}")
    if correlation == "spearman":
        from scipy.stats import rankdata  # on use: scipy.stats takes ~0.5 s to load

        codes, sources = rankdata(codes, axis=0), rankdata(sources, axis=0)
    a = codes - codes.mean(axis=0)
    b = sources - sources.mean(axis=0)
    norm_a, norm_b = np.sqrt((a**2).sum(axis=0)), np.sqrt((b**2).sum(axis=0))
    denom = np.outer(norm_a, norm_b)
    corr = np.zeros(denom.shape)
    np.divide(np.abs(a.T @ b), denom, out=corr, where=denom > 0)
    return np.clip(corr, 0.0, 1.0)


def mcc(
    codes: np.ndarray, sources: np.ndarray, *, correlation: str = "pearson"
) -> dict[str, float]:
    """Mean |correlation| between sources and codes after the best one-to-one matching (``mcc``).

    ``codes`` is (n, d), ``sources`` (n, K) true sources or factor labels.
    """
    codes = check_codes(codes)
    sources = check_codes(sources, "sources")
    check_pair(codes, sources)
    keep = ~constant_factors(sources)
    if not keep.any():
        raise ValueError(
            f"sources: all {sources.shape[1]} source(s) are constant; "
            "expected at least one varying source"
        )
    from scipy.optimize import linear_sum_assignment  # on use: ~0.5 s to load

    corr = abs_correlation(codes, sources[:, keep], correlation)
    rows, cols = linear_sum_assignment(corr, maximize=True)
    return {"mcc": float(corr[rows, cols].sum() / corr.shape[1])}
