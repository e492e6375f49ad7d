"""SAP score, the Separated Attribute Predictability (Kumar, Sattigeri & Balakrishnan 2018,
"Variational Inference of Disentangled Latent Concepts from Unlabeled Observations"), as
google-research/disentanglement_lib (dlib ``sap_score.py``) computes it.

Score matrix S (codes × factors). Default, as in dlib's study (``continuous_factors=False``): each
(code, factor) pair gets ``LinearSVC(C=0.01, class_weight="balanced")`` fit on that single code
column of the training split, and S is its accuracy on the test split. With
``continuous_factors=True``: S = R² = cov(code, factor)² / (var code · var factor) (``ddof=1``) on
the training split, 0 where var code <= 1e-12. SAP = mean over factors of the gap between the
largest and second-largest S in the column. Key: ``SAP_score``. dlib: num_train=10000,
num_test=5000.

Known behaviour (reference notes §1): a 1-D one-vs-rest linear SVM cannot carve out the interior
classes of a many-valued factor, so even a perfect code gets a low discrete SAP (measured 0.42 for
factors with 3-8 values); compare values only within this variant.

Differences from dlib, and why: each SVM gets ``random_state`` derived from ``seed`` (dlib: None);
sklearn's current ``dual="auto"`` is used (dlib's era: ``dual=True``; a small numeric drift).
Degenerate cases: constant factors are dropped (an SVM cannot fit one class); a constant code
predicts one class (about chance accuracy: never the top, at most a
slightly better second that shaves a gap); with a single code the second-largest
score is taken as 0 (dlib indexes out of range), so the gap is the score itself.
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import check_codes, check_pair, check_train_test
from disentangle.seeding import derive_seed

SVM_C = 0.01
R2_VAR_FLOOR = 1e-12


def sap_from_matrix(score_matrix: np.ndarray) -> float:
    """Mean over factors of (largest − second-largest) score over codes; S is (n_codes, n_f)."""
    s = np.asarray(score_matrix, dtype=np.float64)
    if s.ndim != 2 or s.size == 0:
        raise ValueError(f"score_matrix: expected a non-empty 2-D array, got shape {s.shape}")
    ordered = np.sort(s, axis=0)[::-1]
    second = ordered[1] if s.shape[0] > 1 else np.zeros(s.shape[1])
    return float((ordered[0] - second).mean())


def r2_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Squared correlation of every (code, factor) pair; 0 for codes with variance <= 1e-12."""
    cov = np.cov(codes, factors, rowvar=False, ddof=1)
    d = codes.shape[1]
    var_c, var_f = np.diag(cov)[:d], np.diag(cov)[d:]
    out = np.zeros((d, factors.shape[1]))
    live = var_c > R2_VAR_FLOOR
    out[live] = cov[:d, d:][live] ** 2 / (var_c[live, None] * var_f[None, :])
    return out


def svm_accuracy_matrix(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Test accuracy of a balanced 1-D LinearSVC(C=0.01) for every (code, factor) pair."""
    from sklearn.svm import LinearSVC  # on use: ~2 s to load

    d, k = codes_train.shape[1], factors_train.shape[1]
    out = np.zeros((d, k))
    for i in range(d):
        for j in range(k):
            svm = LinearSVC(
                C=SVM_C,
                class_weight="balanced",
                random_state=derive_seed("metrics.sap", seed, i, j) % 2**32,
            )
            svm.fit(codes_train[:, i : i + 1], factors_train[:, j])
            out[i, j] = np.mean(svm.predict(codes_test[:, i : i + 1]) == factors_test[:, j])
    return out


def sap(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray | None = None,
    factors_test: np.ndarray | None = None,
    *,
    seed: int = 0,
    continuous_factors: bool = False,
) -> dict[str, float]:
    """dlib's SAP score: how much better the best single code predicts each factor than the next.

    Discrete (default) uses the SVM test accuracy; ``continuous_factors=True`` uses R² on the
    training split only (the test split is then not used, as in dlib) and accepts float factors.
    """
    if continuous_factors:
        codes = check_codes(codes_train)
        factors = check_codes(factors_train, "factors")
        check_pair(codes, factors)
        keep = factors.var(axis=0) > 0
        if not keep.any():
            raise ValueError("factors: every factor is constant; expected at least one varying")
        return {"SAP_score": sap_from_matrix(r2_matrix(codes, factors[:, keep]))}
    if codes_test is None or factors_test is None:
        raise ValueError(
            "codes_test and factors_test: expected arrays (discrete SAP needs a test split)"
        )
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    matrix = svm_accuracy_matrix(codes_train, factors_train, codes_test, factors_test, seed=seed)
    return {"SAP_score": sap_from_matrix(matrix)}
