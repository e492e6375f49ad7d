"""DCI disentanglement, completeness and informativeness (Eastwood & Williams 2018, "A Framework
for the Quantitative Evaluation of Disentangled Representations"), as google-research/
disentanglement_lib (dlib ``dci.py``) computes it.

For each factor k a ``GradientBoostingClassifier`` (sklearn defaults: 100 trees, depth 3,
learning rate 0.1) is fit on the raw training codes; R[:, k] = |feature_importances_| (impurity
based, summing to 1). Informativeness train/test = mean over factors of the classification
*accuracy* (dlib names it a loss but it is an accuracy: higher is better). Disentanglement:
D_i = 1 − H_K(R[i, :] normalised) per code, weighted by the code's share of the total importance;
completeness is the same on the columns with log base = number of codes. Entropies get +1e-11
(dlib). Keys: ``disentanglement``, ``completeness``, ``informativeness_train``,
``informativeness_test``. dlib uses num_train=10000, num_test=5000.

Differences from dlib, and why:
- each GBT gets ``random_state`` derived from ``seed`` and the factor index (dlib left it
  ``None``, so its numbers moved with numpy's global RNG by ~1e-3..1e-2);
- ``n_estimators`` is a keyword (default 100 as dlib) so that tests can use fewer trees;
- constant factors are dropped (GBT cannot fit one class); with one factor every code is fully
  dedicated (D = 1 for codes with importance), and with one code completeness is 1 (dlib divides
  by log 1 = 0). An all-zero importance matrix (e.g. all codes constant) is replaced by ones, as
  in dlib, which gives D = C = 0.
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import check_train_test
from disentangle.seeding import derive_seed

ENTROPY_EPS = 1e-11


def _dedication(weights: np.ndarray) -> np.ndarray:
    """1 − entropy (log base = number of columns) of each row of a non-negative matrix, after
    adding 1e-11 and renormalising (``scipy.stats.entropy`` as dlib uses it)."""
    n_cols = weights.shape[1]
    if n_cols == 1:
        return np.ones(weights.shape[0])
    p = weights + ENTROPY_EPS
    p = p / p.sum(axis=1, keepdims=True)
    # H <= log n_cols; the clip only removes rounding below 0 for uniform rows
    return np.clip(1.0 - (-(p * np.log(p)).sum(axis=1)) / np.log(n_cols), 0.0, 1.0)


def dci_from_importance(importance: np.ndarray) -> dict[str, float]:
    """Disentanglement and completeness from an importance matrix R ``(n_codes, n_factors)``.

    The pure DCI math: rows (codes) are scored for dedication to one factor, columns (factors) for
    being captured by one code, each weighted by its share of the total importance.
    """
    r = np.abs(np.asarray(importance, dtype=np.float64))
    if r.ndim != 2 or r.size == 0:
        raise ValueError(f"importance: expected a non-empty 2-D array, got shape {r.shape}")
    if r.sum() == 0.0:
        r = np.ones_like(r)
    code_weight = r.sum(axis=1) / r.sum()
    factor_weight = r.sum(axis=0) / r.sum()
    return {
        "disentanglement": float((code_weight * _dedication(r)).sum()),
        "completeness": float((factor_weight * _dedication(r.T)).sum()),
    }


def importance_and_accuracy(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
    n_estimators: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one GBT per factor: importance ``(n_codes, n_factors)``, train and test accuracies."""
    from sklearn.ensemble import GradientBoostingClassifier  # on use: ~2 s to load

    n_codes, n_factors = codes_train.shape[1], factors_train.shape[1]
    importance = np.zeros((n_codes, n_factors))
    acc_train, acc_test = np.zeros(n_factors), np.zeros(n_factors)
    for k in range(n_factors):
        model = GradientBoostingClassifier(
            n_estimators=int(n_estimators),
            random_state=derive_seed("metrics.dci", seed, k) % 2**32,
        )
        model.fit(codes_train, factors_train[:, k])
        importance[:, k] = np.abs(model.feature_importances_)
        acc_train[k] = np.mean(model.predict(codes_train) == factors_train[:, k])
        acc_test[k] = np.mean(model.predict(codes_test) == factors_test[:, k])
    return importance, acc_train, acc_test


def dci(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
    n_estimators: int = 100,
) -> dict[str, float]:
    """dlib's DCI scores of codes against integer factor labels, with a train and a test split.

    Returns disentanglement, completeness and the informativeness (accuracy) on both splits.
    """
    if int(n_estimators) < 1:
        raise ValueError(f"n_estimators = {n_estimators}: expected an integer >= 1")
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    importance, acc_train, acc_test = importance_and_accuracy(
        codes_train, factors_train, codes_test, factors_test, seed=seed, n_estimators=n_estimators
    )
    scores = dci_from_importance(importance)
    scores["informativeness_train"] = float(acc_train.mean())
    scores["informativeness_test"] = float(acc_test.mean())
    return scores
