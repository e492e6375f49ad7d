"""Shared pieces of the sample-based disentanglement metrics: input checks, the histogram
discretiser, discrete mutual information and entropy (google-research/disentanglement_lib, "dlib").

Conventions (reference notes §0): arrays are ``(n_samples, n_codes)`` codes and
``(n_samples, n_factors)`` integer factor labels (dlib stores the transpose). The discretiser is
dlib's ``histogram_discretizer`` with ``num_bins=20``: per code column, ``np.digitize(x,
edges[:-1])`` with the equal-width edges of ``np.histogram(x, num_bins)``, giving labels
1..num_bins (the column's maximum lands in the last bin; a constant column gets one label).
Mutual information and entropy are plug-in estimates from label counts, in nats, the same numbers
as ``sklearn.metrics.mutual_info_score`` (checked in the tests) without its per-call overhead.

Degenerate factors: a factor with a single value in the data carries nothing to disentangle, so
``drop_constant_factors`` removes it before a metric is computed (dlib has no rule; its estimators
crash on one class and MIG divides by a zero entropy). If every factor is constant, it raises.
"""

from __future__ import annotations

import numpy as np

DEFAULT_NUM_BINS = 20


def check_codes(codes: np.ndarray, name: str = "codes") -> np.ndarray:
    """Return ``codes`` as a finite float64 ``(n_samples, n_codes)`` array, or raise ValueError."""
    arr = np.asarray(codes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(
            f"{name}: expected a 2-D (n_samples >= 2, n_codes >= 1) array, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")
    return arr


def check_labels(factors: np.ndarray, name: str = "factors") -> np.ndarray:
    """Return integer factor labels as an int64 ``(n_samples, n_factors)`` array, or raise.

    Floats are accepted only when they are whole numbers (labels stored as floats).
    """
    arr = np.asarray(factors)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(
            f"{name}: expected a 2-D (n_samples >= 2, n_factors >= 1) array, got shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)):
        if np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
    raise ValueError(
        f"{name}: expected integer class labels (dtype {arr.dtype} with non-integer values); "
        "continuous sources belong to 'mcc'"
    )


def check_pair(codes: np.ndarray, factors: np.ndarray, split: str = "") -> None:
    """Raise ValueError unless ``codes`` and ``factors`` have the same number of samples."""
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(
            f"codes{split} has {codes.shape[0]} samples but factors{split} has "
            f"{factors.shape[0]}: expected the same number of rows"
        )


def constant_factors(factors: np.ndarray) -> np.ndarray:
    """Boolean mask over factor columns: True where the column holds a single value."""
    return np.all(factors == factors[:1], axis=0)


def drop_constant_factors(*factor_arrays: np.ndarray, reference: np.ndarray) -> list[np.ndarray]:
    """Remove the factor columns that are constant in ``reference`` from each array given.

    Raises ValueError when every factor of ``reference`` is constant (nothing to score).
    """
    keep = ~constant_factors(reference)
    if not keep.any():
        raise ValueError(
            f"factors: all {reference.shape[1]} factor(s) take a single value; "
            "expected at least one factor with two or more values"
        )
    return [f[:, keep] for f in factor_arrays]


def check_train_test(
    codes_train: np.ndarray,
    factors_train: np.ndarray,
    codes_test: np.ndarray,
    factors_test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check a train and a test split of codes and integer labels; drop factors constant in train.

    Returns float64 codes and int64 labels for both splits, or raises ValueError on bad shapes.
    """
    codes_train, codes_test = check_codes(codes_train), check_codes(codes_test, "codes_test")
    factors_train = check_labels(factors_train)
    factors_test = check_labels(factors_test, "factors_test")
    check_pair(codes_train, factors_train)
    check_pair(codes_test, factors_test, "_test")
    for name, train, test in (
        ("codes", codes_train, codes_test),
        ("factors", factors_train, factors_test),
    ):
        if train.shape[1] != test.shape[1]:
            raise ValueError(
                f"{name}_test has {test.shape[1]} columns but {name} has {train.shape[1]}: "
                "expected the same"
            )
    factors_train, factors_test = drop_constant_factors(
        factors_train, factors_test, reference=factors_train
    )
    return codes_train, factors_train, codes_test, factors_test


def histogram_discretize(codes: np.ndarray, num_bins: int = DEFAULT_NUM_BINS) -> np.ndarray:
    """Discretise each column into ``num_bins`` equal-width bins: int labels 1..num_bins (dlib).

    Equal-width bins between each column's min and max, as dlib's ``histogram_discretizer``; this
    is why the discretised metrics are sensitive to heavy tails (reference notes, MIG pitfalls).
    """
    if int(num_bins) < 2:
        raise ValueError(f"num_bins = {num_bins}: expected an integer >= 2")
    arr = np.asarray(codes, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"codes: expected a 2-D array, got shape {arr.shape}")
    out = np.empty(arr.shape, dtype=np.int64)
    for j in range(arr.shape[1]):
        edges = np.histogram_bin_edges(arr[:, j], bins=int(num_bins))
        out[:, j] = np.digitize(arr[:, j], edges[:-1])
    return out


def _dense(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel one column to 0..k-1; return the new labels and k."""
    values, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(-1), values.size


def discrete_entropy(labels: np.ndarray) -> np.ndarray:
    """Entropy in nats of each column of a 2-D label array: ``(n_columns,)``."""
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"labels: expected a 2-D array, got shape {arr.shape}")
    out = np.empty(arr.shape[1])
    for j in range(arr.shape[1]):
        dense, k = _dense(arr[:, j])
        p = np.bincount(dense, minlength=k) / dense.size
        p = p[p > 0]
        out[j] = float(-(p * np.log(p)).sum())
    return out


def mutual_information(labels_a: np.ndarray, labels_b: np.ndarray) -> np.ndarray:
    """Plug-in mutual information in nats between every column pair: ``(n_a, n_b)``.

    Both inputs are 2-D label arrays with the same number of rows (e.g. discretised codes and
    factor labels). Matches ``sklearn.metrics.mutual_info_score`` column pair by column pair.
    """
    a, b = np.asarray(labels_a), np.asarray(labels_b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(
            f"labels: expected two 2-D arrays with the same number of rows, got {a.shape} and "
            f"{b.shape}"
        )
    n = a.shape[0]
    dense_b = [_dense(b[:, j]) for j in range(b.shape[1])]
    out = np.zeros((a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        da, ka = _dense(a[:, i])
        count_a = np.bincount(da, minlength=ka)
        for j, (db, kb) in enumerate(dense_b):
            joint = np.bincount(da * kb + db, minlength=ka * kb).reshape(ka, kb)
            rows, cols = np.nonzero(joint)
            c = joint[rows, cols].astype(np.float64)
            count_b = np.bincount(db, minlength=kb)
            denom = count_a[rows].astype(np.float64) * count_b[cols]
            out[i, j] = max(0.0, float((c / n * np.log(c * n / denom)).sum()))
    return out
