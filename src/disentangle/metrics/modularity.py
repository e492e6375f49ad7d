"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep Disentangled Embeddings
with the F-Statistic Loss"), as google-research/disentanglement_lib (dlib
``modularity_explicitness.py``) computes them.

Modularity: m = MI matrix between the 20-bin discretised training codes and the factors (nats).
For each code, theta = max_k m², delta = (sum_k m² − theta) / (theta · (K − 1)), score = 1 − delta;
a code whose MI row is all zero scores 0 (dlib counts it, it is not dropped). Mean over codes.
Explicitness: standardise the codes with the training mean and std; for each factor fit a
``LogisticRegression`` on all codes and take the macro one-vs-rest ROC-AUC of ``predict_proba``
against the labels, on the training and on the test split; mean over factors. Keys:
``modularity_score``, ``explicitness_score_train``, ``explicitness_score_test``. dlib:
num_train=10000, num_test=5000, 20 bins.

Known behaviour (reference notes §1): modularity rewards things it should not: a randomly
rotated code and even pure noise score high (the plug-in MI bias is largest for the factor with
the most values, and squaring lets it dominate). Do not read high modularity as disentanglement.

Differences from dlib, and why:
- the classifier is sklearn's current default lbfgs multinomial ``LogisticRegression`` with
  ``max_iter=1000`` and a ``random_state`` derived from ``seed`` (dlib's era: liblinear one-vs-rest,
  ``max_iter=100``, unseeded; the two differ by a few hundredths, liblinear lower);
- an exactly constant code has std 0: it is centred and left at 0 instead of divided by 0 (dlib
  produces NaN and LogisticRegression raises);
- the macro AUC averages over the classes that occur in the split scored, with both positives and
  negatives (dlib's label binarizer errors when a class is missing from the test set);
- constant factors are dropped (one class cannot be fit); with a single factor a code with any MI
  has modularity 1 (dlib divides by K − 1 = 0).
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.information import (
    DEFAULT_NUM_BINS,
    check_train_test,
    histogram_discretize,
    mutual_information,
)
from disentangle.seeding import derive_seed

LOGISTIC_MAX_ITER = 1000


def modularity_from_mi(mi: np.ndarray) -> float:
    """Mean over codes of 1 − delta from an MI matrix ``(n_codes, n_factors)``; dead codes: 0."""
    m = np.asarray(mi, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"mi: expected a non-empty 2-D array, got shape {m.shape}")
    sq = m**2
    theta = sq.max(axis=1)
    alive = theta > 0
    scores = np.zeros(m.shape[0])
    if m.shape[1] == 1:
        scores[alive] = 1.0
    else:
        delta = (sq[alive].sum(axis=1) - theta[alive]) / (theta[alive] * (m.shape[1] - 1))
        scores[alive] = 1.0 - delta
    return float(scores.mean())


def macro_auc(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean one-vs-rest ROC-AUC over the classes present with both positives and negatives.

    ``proba[:, c]`` scores class ``classes[c]``; returns 0.5 when no class can be scored.
    """
    from sklearn.metrics import roc_auc_score  # on use: ~2 s to load

    aucs = []
    for c, value in enumerate(classes):
        positive = labels == value
        if positive.any() and not positive.all():
            aucs.append(roc_auc_score(positive, proba[:, c]))
    return float(np.mean(aucs)) if aucs else 0.5


def span_coordinates(z_train: np.ndarray, z_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train and test codes in an orthonormal basis of the training codes' row span, where their
    numerical rank (numpy's ``matrix_rank`` tolerance) is below the code width; else unchanged.
    Inner products with any vector of that span are preserved exactly."""
    z_train = np.asarray(z_train, dtype=np.float64)
    if z_train.ndim != 2 or z_train.shape[1] < 2:
        return z_train, np.asarray(z_test, dtype=np.float64)
    _, sv, vt = np.linalg.svd(z_train, full_matrices=False)
    tol = sv.max(initial=0.0) * max(z_train.shape) * np.finfo(np.float64).eps
    rank = int((sv > tol).sum())
    if rank == 0 or rank == z_train.shape[1]:
        return z_train, np.asarray(z_test, dtype=np.float64)
    basis = vt[:rank].T  # (m, r)
    return z_train @ basis, np.asarray(z_test, dtype=np.float64) @ basis


def explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean macro ROC-AUC of per-factor logistic regressions on standardised codes (train, test).

    A rank-deficient code (rank r below its width: a random linear code of D latents in m > D
    units, a VAE's collapsed latents) is first expressed in an orthonormal basis of its training
    codes' span (``span_coordinates``). The fit is the same: the L2-penalised logistic loss sees
    the codes only through W·z, so its optimum has no weight outside that span and W·z is the same
    for train and test codes; lbfgs reaches it on r coordinates instead of m, several times faster
    (the floors' 40- and 64-unit codes of rank 2)."""
    from sklearn.linear_model import LogisticRegression  # on use: ~2 s to load

    mean, std = codes_train.mean(axis=0), codes_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    z_train, z_test = (codes_train - mean) / std, (codes_test - mean) / std
    z_train, z_test = span_coordinates(z_train, z_test)
    auc_train, auc_test = [], []
    for k in range(factors_train.shape[1]):
        model = LogisticRegression(
            max_iter=LOGISTIC_MAX_ITER,
            random_state=derive_seed("metrics.explicitness", seed, k) % 2**32,
        )
        model.fit(z_train, factors_train[:, k])
        auc_train.append(
            macro_auc(factors_train[:, k], model.predict_proba(z_train), model.classes_)
        )
        auc_test.append(macro_auc(factors_test[:, k], model.predict_proba(z_test), model.classes_))
    return float(np.mean(auc_train)), float(np.mean(auc_test))


def modularity_explicitness(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
    *,
    seed: int = 0,
    num_bins: int = DEFAULT_NUM_BINS,
) -> dict[str, float]:
    """dlib's modularity (training split) and explicitness (train and test) of codes vs factors.

    Modularity asks whether each code depends on one factor only; explicitness whether the
    factors can be read out linearly from all codes together.
    """
    codes_train, factors_train, codes_test, factors_test = check_train_test(
        codes_train, factors_train, codes_test, factors_test
    )
    mi = mutual_information(histogram_discretize(codes_train, num_bins), factors_train)
    train, test = explicitness(codes_train, factors_train, codes_test, factors_test, seed=seed)
    return {
        "modularity_score": modularity_from_mi(mi),
        "explicitness_score_train": train,
        "explicitness_score_test": test,
    }
