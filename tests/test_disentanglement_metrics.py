"""The sample-based disentanglement metrics (MIG, DCI, SAP, modularity/explicitness, IRS, MCC)
and the ``score`` dispatcher: hand-computed values, perfect / rotated / noise / dead / duplicated
codes, monotone warps. 2,000 points, 5 factors with 3..8 values, 20 GBT trees for DCI."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from sklearn.svm import LinearSVC

from disentangle.metrics import METRICS, score, split_train_test
from disentangle.metrics.dci import dci, dci_from_importance
from disentangle.metrics.irs import irs
from disentangle.metrics.mcc import mcc
from disentangle.metrics.mig import gap_per_factor, mig
from disentangle.metrics.modularity import modularity_explicitness, modularity_from_mi
from disentangle.metrics.sap import r2_matrix, sap, sap_from_matrix, svm_accuracy_matrix

SIZES = np.array([3, 4, 5, 6, 8])
N = 2000
GBT = {"n_estimators": 20}
OPTIONS = {"dci": GBT, "mcc": {"correlation": "spearman"}}


def factors() -> np.ndarray:
    return np.random.default_rng(0).integers(SIZES, size=(N, SIZES.size))


def centred(f: np.ndarray) -> np.ndarray:
    """Factor labels mapped to [-1, 1] per factor."""
    return 2.0 * f / (SIZES - 1) - 1.0


def rotation(d: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def codes_for(case: str) -> np.ndarray:
    f = factors()
    rng = np.random.default_rng(1)
    return {
        "perfect": f.astype(float),
        "rotated": centred(f) @ rotation(SIZES.size, 2),
        "noise": rng.normal(size=f.shape),
        "dead": np.c_[f, np.zeros(N)].astype(float),
        "duplicated": np.c_[f, f[:, :1]].astype(float),
        "zeros": np.zeros(f.shape),
        # a strictly monotone warp that keeps every value in its own 20-bin histogram bin
        "warped": np.exp(0.2 * f),
    }[case]


@cache
def result(metric: str, case: str) -> dict[str, float]:
    return score(metric, codes_for(case), factors(), seed=0, **OPTIONS.get(metric, {}))


def two_factor_grid(reps: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Balanced grid of f1 in 0..3 and f2 in 0..1 (every pair ``reps`` times): f1, f2 columns."""
    f1, f2 = np.meshgrid(np.arange(4), np.arange(2), indexing="ij")
    grid = np.c_[f1.ravel(), f2.ravel()]
    return np.tile(grid, (reps, 1))


# ---------------------------------------------------------------- MIG


def test_mig_hand_computed_two_factor_example():
    f = two_factor_grid()
    # codes: one bit of f1, all of f1, all of f2. Gap(f1) = (log 4 − log 2)/log 4 = 1/2,
    # gap(f2) = log 2/log 2 = 1, so MIG = 3/4 exactly (MI with the other factor is 0 on the grid).
    codes = np.c_[f[:, 0] // 2, f[:, 0], f[:, 1]].astype(float)
    assert mig(codes, f)["discrete_mig"] == pytest.approx(0.75, abs=1e-12)
    mi = np.array([[math.log(2), 0.0], [math.log(4), 0.0], [0.0, math.log(2)]])
    np.testing.assert_allclose(gap_per_factor(mi, np.log([4.0, 2.0])), [0.5, 1.0])
    # a duplicated perfect code closes its factor's gap: MIG 1 → 1/2
    assert mig(f.astype(float), f)["discrete_mig"] == pytest.approx(1.0, abs=1e-12)
    dup = np.c_[f[:, 0], f[:, 1], f[:, 0]].astype(float)
    assert mig(dup, f)["discrete_mig"] == pytest.approx(0.5, abs=1e-12)
    # a single code column: the second-largest MI counts as 0
    assert mig(f[:, :1].astype(float), f[:, :1])["discrete_mig"] == pytest.approx(1.0)


def test_mig_perfect_rotated_noise_dead_duplicated():
    perfect = result("mig", "perfect")["discrete_mig"]
    assert perfect > 0.99  # < 1 only by the plug-in MI bias of the other codes
    assert result("mig", "rotated")["discrete_mig"] < 0.3  # measured 0.14
    assert result("mig", "noise")["discrete_mig"] < 0.01  # measured 0.001
    assert result("mig", "dead")["discrete_mig"] == pytest.approx(perfect, abs=1e-12)
    # factor 0's gap goes to 0: MIG loses one fifth of the perfect value
    assert result("mig", "duplicated")["discrete_mig"] == pytest.approx(0.8 * perfect, abs=0.005)
    assert result("mig", "zeros")["discrete_mig"] == 0.0


def test_mig_warps():
    # a monotone warp that keeps the bin partition leaves every discretised-MI metric unchanged
    for metric, key in (("mig", "discrete_mig"), ("modularity_explicitness", "modularity_score")):
        assert result(metric, "warped")[key] == pytest.approx(result(metric, "perfect")[key], 1e-12)
    # ... but equal-width bins are not warp invariant in general: an exp warp of a continuous,
    # noisy code piles points into a few bins and loses MI (reference notes, MIG pitfalls)
    f = factors()
    noisy = centred(f) + 0.1 * np.random.default_rng(3).normal(size=f.shape)
    plain, heavy = mig(noisy, f)["discrete_mig"], mig(np.exp(6 * noisy), f)["discrete_mig"]
    assert plain > 0.8 and heavy < plain - 0.3


def test_mig_constant_factor_is_dropped():
    f = factors()
    with_constant = np.c_[f, np.full(N, 4)]
    codes = codes_for("perfect")
    assert mig(codes, with_constant) == mig(codes, f)
    with pytest.raises(ValueError, match="single value"):
        mig(codes, np.zeros((N, 2), dtype=int))


def test_mig_factor_with_more_values_than_bins_has_a_ceiling():
    f = np.repeat(np.arange(32), 10)[:, None]
    value = mig(f.astype(float), f)["discrete_mig"]
    assert 0.8 < value <= math.log(20) / math.log(32) + 1e-12


# ---------------------------------------------------------------- DCI


def test_dci_from_importance_hand_computed():
    k = 4
    eye = dci_from_importance(np.eye(k))
    assert eye["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert eye["completeness"] == pytest.approx(1.0, abs=1e-8)
    # every code duplicated: D stays 1, completeness = 1 − log 2 / log(2K) (dlib's own test)
    dup = dci_from_importance(np.vstack([np.eye(k), np.eye(k)]))
    assert dup["disentanglement"] == pytest.approx(1.0, abs=1e-8)
    assert dup["completeness"] == pytest.approx(1 - math.log(2) / math.log(2 * k), abs=1e-8)
    # code 0 split evenly (D0 = 0), code 1 dedicated (D1 = 1), equal weights: D = 1/2;
    # factor 0 dedicated (C = 1, weight 1/4), factor 1 split 1/3 : 2/3 (weight 3/4)
    mixed = dci_from_importance(np.array([[0.5, 0.5], [0.0, 1.0]]))
    h = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(2)
    assert mixed["disentanglement"] == pytest.approx(0.5, abs=1e-8)
    assert mixed["completeness"] == pytest.approx(0.25 + 0.75 * (1 - h), abs=1e-8)
    for degenerate in (np.ones((3, 3)), np.zeros((3, 3))):
        out = dci_from_importance(degenerate)
        assert out["disentanglement"] == pytest.approx(0.0, abs=1e-8)
        assert out["completeness"] == pytest.approx(0.0, abs=1e-8)
    # unequal row sums: code 0 (split, D = 0) weighs 1/1.2, code 1 (dedicated) 0.2/1.2
    weighted = dci_from_importance(np.array([[0.5, 0.5], [0.0, 0.2]]))
    assert weighted["disentanglement"] == pytest.approx(1 / 6, abs=1e-8)
    one_code = dci_from_importance(np.array([[0.2, 0.8]]))
    assert one_code["completeness"] == 1.0 and one_code["disentanglement"] < 0.5


def test_dci_perfect_rotated_noise():
    perfect, rotated, noise = (result("dci", c) for c in ("perfect", "rotated", "noise"))
    for key in ("disentanglement", "completeness", "informativeness_test"):
        assert perfect[key] > 0.98
    assert rotated["disentanglement"] < 0.5  # measured 0.32
    assert rotated["completeness"] < 0.5
    assert noise["disentanglement"] < 0.05 and noise["completeness"] < 0.05
    # chance accuracy averaged over the factors is mean(1/n_k) = 0.22
    assert noise["informativeness_test"] < 0.3


def test_dci_dead_duplicated_zero_codes():
    dead, dup, zeros = (result("dci", c) for c in ("dead", "duplicated", "zeros"))
    assert dead["disentanglement"] > 0.98 and dead["completeness"] > 0.98
    assert dup["disentanglement"] > 0.98
    assert dup["completeness"] < 0.97  # factor 0's importance is split over two codes
    assert zeros["disentanglement"] == 0.0 and zeros["completeness"] == 0.0
    assert zeros["informativeness_test"] < 0.3


def test_dci_is_invariant_to_monotone_warps_and_seeded():
    f = factors()
    noisy = centred(f) + 0.5 * np.random.default_rng(4).normal(size=f.shape)
    tr, te = slice(0, 1500), slice(1500, None)
    plain = dci(noisy[tr], f[tr], noisy[te], f[te], seed=3, n_estimators=10)
    warped_codes = np.exp(3 * noisy)
    warped = dci(warped_codes[tr], f[tr], warped_codes[te], f[te], seed=3, n_estimators=10)
    assert 0.3 < plain["disentanglement"] < 0.95  # a non-trivial case
    for key, value in plain.items():
        assert warped[key] == pytest.approx(value, abs=1e-9)
    assert dci(noisy[tr], f[tr], noisy[te], f[te], seed=3, n_estimators=10) == plain


# ---------------------------------------------------------------- SAP


def test_sap_matrix_and_r2_by_hand():
    s = np.array([[0.9, 0.1], [0.5, 0.6], [0.2, 0.3]])
    assert sap_from_matrix(s) == pytest.approx((0.4 + 0.3) / 2)
    assert sap_from_matrix(np.array([[0.7, 0.4]])) == pytest.approx(0.55)
    f = two_factor_grid().astype(float)
    r2 = r2_matrix(np.c_[2 * f[:, 0] + 1, np.zeros(len(f)), f[:, 1]], f)
    np.testing.assert_allclose(r2, [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]], atol=1e-12)
    # continuous SAP of a duplicated perfect code: gaps 0 and 1
    dup = np.c_[f[:, 0], f[:, 1], f[:, 0]]
    assert sap(dup, f, continuous_factors=True)["SAP_score"] == pytest.approx(0.5, abs=1e-12)
    assert sap(f, f, continuous_factors=True)["SAP_score"] == pytest.approx(1.0, abs=1e-12)


def test_sap_uses_dlibs_balanced_svm():
    f = factors()[:600, :2]
    codes = np.c_[f[:, 0] + np.random.default_rng(9).normal(size=600), f[:, 1]]
    matrix = svm_accuracy_matrix(codes[:400], f[:400], codes[400:], f[400:], seed=0)
    for i in range(2):
        for j in range(2):
            svm = LinearSVC(C=0.01, class_weight="balanced", random_state=0)
            svm.fit(codes[:400, i : i + 1], f[:400, j])
            expected = np.mean(svm.predict(codes[400:, i : i + 1]) == f[400:, j])
            assert matrix[i, j] == pytest.approx(expected, abs=1e-12)


def test_sap_perfect_rotated_noise_dead_duplicated():
    perfect = result("sap", "perfect")["SAP_score"]
    # low in absolute terms: a 1-D linear SVM cannot isolate interior classes (measured 0.42)
    assert 0.3 < perfect < 0.6
    assert result("sap", "rotated")["SAP_score"] < 0.1  # measured 0.05
    assert result("sap", "noise")["SAP_score"] < 0.03
    assert result("sap", "zeros")["SAP_score"] == 0.0
    # a constant code predicts one class: near-chance accuracy, at most a slightly better second
    assert perfect - 0.01 < result("sap", "dead")["SAP_score"] <= perfect
    assert result("sap", "duplicated")["SAP_score"] < perfect - 0.05


# ---------------------------------------------------------------- modularity / explicitness


def test_modularity_from_mi_by_hand():
    # dedicated code: 1; code equally tied to two factors: 0; dead code: 0 (dlib counts it)
    assert modularity_from_mi(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])) == pytest.approx(
        1 / 3
    )
    # theta = 4, rest = 1, K = 3: delta = 1/(4·2)
    assert modularity_from_mi(np.array([[2.0, 1.0, 0.0]])) == pytest.approx(0.875)
    assert modularity_from_mi(np.array([[0.3], [0.0]])) == pytest.approx(0.5)


def test_explicitness_of_a_rank_deficient_code_is_the_fit_on_its_span(monkeypatch):
    """A random linear code of 2 latents in 40 units (rank 2, the floors' kind) is fitted on its
    2-d span: the same logistic-regression optimum, so the AUCs equal the fit on all 40 units
    within lbfgs' tolerance; a full-rank code is left as it is."""
    from disentangle.metrics import modularity

    rng = np.random.default_rng(3)
    x = rng.uniform(-0.5, 0.5, (3000, 2))
    labels = np.stack([np.digitize(x[:, j], np.linspace(-0.5, 0.5, 11)[1:-1]) for j in (0, 1)], 1)
    codes = x @ rng.standard_normal((2, 40))
    z_tr, z_te = modularity.span_coordinates(codes[:2000], codes[2000:])
    assert z_tr.shape == (2000, 2) and z_te.shape == (1000, 2)
    w = rng.standard_normal(40) @ codes[:2000].T @ codes[:2000]  # a vector of the span
    basis_w = np.linalg.lstsq(z_tr, codes[:2000] @ w, rcond=None)[0]
    assert np.allclose(z_te @ basis_w, codes[2000:] @ w)  # inner products preserved
    full = rng.standard_normal((100, 5))
    assert modularity.span_coordinates(full, full)[0] is not None
    assert modularity.span_coordinates(full, full)[0].shape == (100, 5)
    projected = modularity.explicitness(codes[:2000], labels[:2000], codes[2000:], labels[2000:])
    monkeypatch.setattr(modularity, "span_coordinates", lambda a, b: (a, b))
    direct = modularity.explicitness(codes[:2000], labels[:2000], codes[2000:], labels[2000:])
    assert projected == pytest.approx(direct, abs=2e-4)


def test_modularity_explicitness_cases():
    perfect = result("modularity_explicitness", "perfect")
    assert perfect["modularity_score"] > 0.99
    assert perfect["explicitness_score_train"] > 0.99 and perfect["explicitness_score_test"] > 0.99
    rotated = result("modularity_explicitness", "rotated")
    assert rotated["modularity_score"] < perfect["modularity_score"] - 0.1  # measured 0.82
    assert rotated["explicitness_score_test"] > 0.99  # linear read-out does not care
    noise = result("modularity_explicitness", "noise")
    assert abs(noise["explicitness_score_test"] - 0.5) < 0.03
    # the documented pitfall: pure noise still gets a high modularity (measured 0.76)
    assert noise["modularity_score"] > 0.5
    dead = result("modularity_explicitness", "dead")  # dlib crashes on the constant code
    assert dead["modularity_score"] == pytest.approx(5 / 6 * perfect["modularity_score"], 1e-12)
    assert dead["explicitness_score_test"] > 0.99
    zeros = result("modularity_explicitness", "zeros")
    assert zeros["modularity_score"] == 0.0
    assert zeros["explicitness_score_train"] == pytest.approx(0.5)
    assert zeros["explicitness_score_test"] == pytest.approx(0.5)


def test_explicitness_copes_with_a_class_missing_from_the_test_split():
    f = factors()
    codes = codes_for("perfect")
    test = f[:, 4] != 7  # no test point of factor 4's last class
    out = modularity_explicitness(codes, f, codes[test], f[test], seed=0)
    assert out["explicitness_score_test"] > 0.99


# ---------------------------------------------------------------- IRS


def test_irs_hand_computed():
    g = np.array([0, 0, 1, 1])
    e = np.array([0, 1, 0, 1])
    z = (g + 2 * e).astype(float)[:, None]  # [0, 2, 1, 3]
    # holding g: |z − E[z|g]| = 1 in both groups; max |z − mean z| = 1.5 → 1 − 1/1.5
    assert irs(z, g[:, None], diff_quantile=1.0)["IRS"] == pytest.approx(1 / 3)
    # holding e: deviation 0.5 → 1 − 0.5/1.5; the code scores its best factor
    assert irs(z, np.c_[g, e], diff_quantile=1.0)["IRS"] == pytest.approx(2 / 3)


def test_irs_cases():
    assert result("irs", "perfect")["IRS"] == pytest.approx(1.0, abs=1e-12)
    assert result("irs", "warped")["IRS"] == pytest.approx(1.0, abs=1e-12)
    rotated, noise = result("irs", "rotated")["IRS"], result("irs", "noise")["IRS"]
    assert rotated < 0.6  # measured 0.44
    assert noise < 0.4 and noise < rotated - 0.05  # Gaussian noise: measured 0.30
    dead = result("irs", "dead")
    assert dead["IRS"] == pytest.approx(1.0) and dead["num_active_dims"] == 5
    assert result("irs", "duplicated")["num_active_dims"] == 6
    assert result("irs", "zeros") == {"IRS": 0.0, "num_active_dims": 0.0}


# ---------------------------------------------------------------- MCC


def sources(n: int = 5000, d: int = 4, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def test_mcc_permutation_sign_and_warp():
    s = sources()
    perm = s[:, [2, 0, 3, 1]] * np.array([1, -1, -1, 1])
    assert mcc(perm, s)["mcc"] == pytest.approx(1.0, abs=1e-12)
    warped = np.c_[np.tanh(perm[:, 0]), perm[:, 1] ** 3, np.exp(perm[:, 2]), -perm[:, 3]]
    assert mcc(warped, s, correlation="spearman")["mcc"] == pytest.approx(1.0, abs=1e-12)
    pearson = mcc(warped, s)["mcc"]
    assert 0.7 < pearson < 0.95  # Pearson penalises the nonlinear warps
    # more codes than sources: spare codes are ignored; fewer: missing sources count 0
    assert mcc(np.c_[perm, sources(seed=6)], s)["mcc"] == pytest.approx(1.0, abs=1e-12)
    assert mcc(s[:, :2], s)["mcc"] == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="correlation"):
        mcc(s, s, correlation="kendall")


def test_mcc_orthogonal_mixtures():
    s = sources(d=2)
    mixed = np.c_[s[:, 0] + s[:, 1], s[:, 0] - s[:, 1]] / math.sqrt(2)
    assert mcc(mixed, s)["mcc"] == pytest.approx(1 / math.sqrt(2), abs=0.02)
    s5 = sources(d=5)
    assert mcc(s5 @ rotation(5, 7), s5)["mcc"] < 0.9
    assert mcc(sources(seed=8), sources())["mcc"] < 0.1
    assert mcc(np.zeros((5000, 4)), s5[:, :4])["mcc"] == 0.0
    assert result("mcc", "perfect")["mcc"] == pytest.approx(1.0, abs=1e-12)
    assert result("mcc", "rotated")["mcc"] < 0.85


# ---------------------------------------------------------------- score()


def test_score_dispatch_errors():
    codes, f = codes_for("perfect"), factors()
    with pytest.raises(ValueError, match="'dci'.*'mig'"):
        score("mgi", codes, f)
    with pytest.raises(ValueError, match="beta_vae_score"):
        score("beta_vae", codes, f)
    with pytest.raises(ValueError, match="n_trees"):
        score("dci", codes, f, n_trees=5)
    with pytest.raises(ValueError, match="both or neither"):
        score("dci", codes, f, codes)
    with pytest.raises(ValueError, match="integer class labels"):
        score("mig", codes, f + 0.5)
    with pytest.raises(ValueError, match="finite"):
        score("mig", np.full_like(codes, np.nan), f)
    with pytest.raises(ValueError, match="same number"):
        score("mig", codes[:10], f)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_degenerate_inputs_give_finite_scores(metric):
    """A single code column, and a constant factor among others, give finite numbers."""
    f = factors()[:600, :3]
    f_const = np.c_[f, np.full(600, 2)]
    opts = OPTIONS.get(metric, {"n_estimators": 5} if metric == "dci" else {})
    single = score(metric, centred(factors()[:600])[:, :1], f_const, seed=0, **opts)
    assert all(np.isfinite(v) for v in single.values())
    # the constant factor is dropped: same answer as without it
    codes = codes_for("rotated")[:600]
    assert score(metric, codes, f_const, seed=0, **opts) == score(metric, codes, f, seed=0, **opts)


def test_split_is_seeded_and_disjoint():
    f = factors()
    ids = np.arange(N, dtype=float)[:, None]  # codes that name their row
    tr, f_tr, te, f_te = split_train_test(ids, f, seed=1)
    assert tr.shape[0] == 1333 and te.shape[0] == 667  # dlib's 2 : 1 proportion
    assert np.array_equal(np.sort(np.r_[tr[:, 0], te[:, 0]]), ids[:, 0])  # a partition
    assert np.array_equal(f_tr, f[tr[:, 0].astype(int)])  # rows stay paired
    assert np.array_equal(split_train_test(ids, f, seed=1)[0], tr)
    assert not np.array_equal(split_train_test(ids, f, seed=2)[0], tr)


def test_score_matches_the_pure_functions():
    codes, f = codes_for("rotated"), factors()
    tr, te = slice(0, 1400), slice(1400, None)
    direct = sap(codes[tr], f[tr], codes[te], f[te], seed=4)
    assert score("sap", codes[tr], f[tr], codes[te], f[te], seed=4) == direct
    split = split_train_test(codes, f, seed=4)
    assert score("sap", codes, f, seed=4) == sap(*split, seed=4)
    # metrics without a fitted estimator ignore a test split
    assert score("mig", codes, f, codes[:5], f[:5]) == mig(codes, f)
    cont = score("sap", codes, centred(f), seed=4, continuous_factors=True)
    assert cont == sap(codes, centred(f), continuous_factors=True)
