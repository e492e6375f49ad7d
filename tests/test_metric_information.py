"""The shared discretiser, entropy and mutual information of the disentanglement metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

from disentangle.metrics.information import (
    check_labels,
    discrete_entropy,
    drop_constant_factors,
    histogram_discretize,
    mutual_information,
)


def test_histogram_bins_by_hand():
    # two equal-width bins on [0, 10]: the edge 5 and the maximum go to the upper bin
    x = np.array([[0.0], [4.9], [5.0], [5.1], [10.0]])
    assert histogram_discretize(x, num_bins=2)[:, 0].tolist() == [1, 1, 2, 2, 2]
    # 20 integers in 20 bins of width 0.95: one bin each, labels 1..20
    ints = np.arange(20, dtype=float)[:, None]
    assert histogram_discretize(ints)[:, 0].tolist() == list(range(1, 21))
    # 24 integers in 20 bins: 4 bins hold two values, labels still 1..20
    labels = histogram_discretize(np.arange(24, dtype=float)[:, None])[:, 0]
    assert labels.min() == 1 and labels.max() == 20 and np.bincount(labels)[1:].max() == 2
    # a constant column is one bin; columns are binned independently
    both = histogram_discretize(np.c_[np.full(5, 3.0), [0.0, 1, 2, 3, 100]], num_bins=4)
    assert np.unique(both[:, 0]).size == 1
    assert both[:, 1].tolist() == [1, 1, 1, 1, 4]
    with pytest.raises(ValueError, match="num_bins"):
        histogram_discretize(x, num_bins=1)


def test_entropy_and_mi_known_values():
    a = np.repeat(np.arange(4), 24)[:, None]  # uniform over 4 values
    b = np.tile(np.arange(2), 48)[:, None]  # uniform over 2, independent of a on this grid
    assert discrete_entropy(a)[0] == pytest.approx(math.log(4), abs=1e-12)
    assert discrete_entropy(b)[0] == pytest.approx(math.log(2), abs=1e-12)
    assert mutual_information(a, a)[0, 0] == pytest.approx(math.log(4), abs=1e-12)
    assert mutual_information(a, b)[0, 0] == pytest.approx(0.0, abs=1e-12)
    half = a // 2  # one bit of a
    assert mutual_information(half, a)[0, 0] == pytest.approx(math.log(2), abs=1e-12)
    # a constant column carries no information
    assert mutual_information(np.zeros((96, 1)), a)[0, 0] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(2, 7),
    st.integers(2, 7),
    st.integers(5, 300),
)
def test_mi_matches_sklearn_and_self_mi_is_entropy(seed, ka, kb, n):
    rng = np.random.default_rng(seed)
    a = rng.integers(ka, size=(n, 2)) * 3 - 5  # arbitrary label values
    b = rng.integers(kb, size=(n, 3))
    mi = mutual_information(a, b)
    for i in range(2):
        for j in range(3):
            assert mi[i, j] == pytest.approx(mutual_info_score(a[:, i], b[:, j]), abs=1e-10)
    np.testing.assert_allclose(mutual_information(b, a), mi.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(mutual_information(b, b)), discrete_entropy(b), atol=1e-12)
    assert np.all(mi >= 0) and np.all(mi <= discrete_entropy(b)[None, :] + 1e-12)


def test_label_checks_and_constant_factors():
    assert check_labels(np.array([[1.0, 2.0], [3.0, 4.0]])).dtype == np.int64
    with pytest.raises(ValueError, match="integer class labels"):
        check_labels(np.array([[0.5, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="2-D"):
        check_labels(np.arange(4))
    f = np.array([[0, 7, 1], [1, 7, 0], [2, 7, 1]])
    (kept,) = drop_constant_factors(f, reference=f)
    assert kept.tolist() == [[0, 1], [1, 0], [2, 1]]
    with pytest.raises(ValueError, match="single value"):
        drop_constant_factors(f[:, 1:2], reference=f[:, 1:2])
