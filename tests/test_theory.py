"""The paper's theory (docs/replication.md, "Theory checks") against known answers and numerical
properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from disentangle.metrics.ood import information_ceiling
from disentangle.tasks import boundary_normals
from disentangle.theory import (
    KAPPAS,
    MARGINALS,
    bayes_r2_quadrature,
    best_kappa,
    column_angles,
    fit_probit_to_logistic,
    linear_decoder_table,
    locatello_table,
    minimax_kappa,
    mixing_rotation,
    ndtri_exp,
    normal_cdf,
    optimal_log_outputs,
    optimal_outputs,
    optimal_probits,
    orthogonality_table,
    probit_logits,
    probit_max_error,
    pushforward_residual,
    r2_time_table,
    reconstruct_mu,
    reconstruct_mu_log,
    reconstruction_table,
    row_space_projection,
    sample_prior,
    sigmoid_table,
    trilaterate,
    truncated_normal_moments,
    uniform_prior_logits_2d,
    uniform_prior_posterior_mean,
)

F64 = torch.float64


def values(df, **where):
    """The ``value`` column of the rows matching every column == value in ``where``."""
    mask = torch.ones(len(df), dtype=torch.bool).numpy()
    for key, val in where.items():
        mask &= (df[key] == val).to_numpy()
    return df.loc[mask, "value"].to_numpy()


def one(df, **where) -> float:
    out = values(df, **where)
    assert out.size == 1, (where, out)
    return float(out[0])


def problem(dim, n_tasks, seed, unit=True, n_points=8):
    """Random C, b, σ, t and μ whose probit arguments stay moderate (|z| ≲ 4)."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn((n_tasks, dim), generator=g, dtype=F64)
    c = (
        c / c.norm(dim=1, keepdim=True)
        if unit
        else c * (1 + 3 * torch.rand((n_tasks, 1), generator=g, dtype=F64))
    )
    sigma = 0.05 + float(torch.rand((), generator=g, dtype=F64))
    t = int(torch.randint(1, 40, (), generator=g))
    s = sigma / math.sqrt(t)
    centre = torch.rand(dim, generator=g, dtype=F64) - 0.5
    mu = centre + 0.8 * s * torch.randn((n_points, dim), generator=g, dtype=F64)
    b = c @ centre + 0.5 * s * c.norm(dim=1) * torch.randn(n_tasks, generator=g, dtype=F64)
    return c, b, sigma, t, mu


# ---------------------------------------------------------------- closed forms: Ŷ and μ


def test_optimal_outputs_known_value_and_batching():
    # D = 1, c = 2, b = 1, σ = 0.5, t = 4, μ = 1: z = √4·(2 − 1)/(0.5·2) = 2
    y = optimal_outputs(torch.tensor([1.0]), torch.tensor([[2.0]]), torch.tensor([1.0]), 0.5, 4)
    assert float(y) == pytest.approx(0.9772498680518208, abs=1e-15)
    # Python floats stay float64 (0.1 is not rounded to float32 on the way)
    z = optimal_probits(torch.tensor([0.3], dtype=F64), [[1.0]], [0.0], 0.1, 1)
    assert float(z) == pytest.approx(3.0, rel=1e-15)
    c, b, sigma, t, _ = problem(3, 5, 0)
    mu = torch.rand((4, 6, 3), dtype=F64)
    out = optimal_outputs(mu, c, b, sigma, t)
    assert out.shape == (4, 6, 5)
    assert torch.equal(out[2, 3], optimal_outputs(mu[2, 3], c, b, sigma, t))
    # a per-trial t broadcasts over the leading axes
    ts = torch.tensor([1.0, 4.0, 9.0, 16.0])
    per_t = optimal_outputs(mu[:, 0], c, b, sigma, ts)
    assert torch.allclose(per_t[1], optimal_outputs(mu[1, 0], c, b, sigma, 4.0), atol=0, rtol=1e-15)


def test_normal_cdf_keeps_the_lower_tail():
    x = torch.tensor([-10.0, -20.0, -30.0, 0.0, 3.0], dtype=F64)
    ref = [7.619853024160525e-24, 2.7536241186062337e-89, 4.906713927148187e-198, 0.5]
    assert torch.allclose(normal_cdf(x[:4]), torch.tensor(ref, dtype=F64), rtol=1e-13, atol=0)
    assert float(normal_cdf(x[4])) == pytest.approx(0.9986501019683699, abs=1e-15)
    # the logits of Φ: antisymmetric, ≈ x²/2 + log(…) far out, 1.7-ish slope near 0
    z = probit_logits(torch.tensor([-40.0, -1e-4, 0.0, 1e-4, 40.0]))
    assert torch.allclose(z, -z.flip(0), rtol=0, atol=1e-12)
    assert float(z[3]) / 1e-4 == pytest.approx(math.sqrt(8 / math.pi), rel=1e-6)
    assert float(z[4]) > 800


@settings(max_examples=60, deadline=None)
@given(
    dim=st.integers(1, 7),
    extra=st.integers(0, 8),
    seed=st.integers(0, 10_000),
    unit=st.booleans(),
)
def test_reconstruction_exact_for_full_rank(dim, extra, seed, unit):
    c, b, sigma, t, mu = problem(dim, dim + extra, seed, unit)
    assume(float(torch.linalg.cond(c)) < 1e4)
    y = optimal_outputs(mu, c, b, sigma, t)
    assert float((reconstruct_mu(y, c, b, sigma, t) - mu).abs().max()) < 1e-9


@settings(max_examples=60, deadline=None)
@given(dim=st.integers(2, 8), seed=st.integers(0, 10_000), unit=st.booleans(), data=st.data())
def test_reconstruction_is_the_row_space_projection_for_few_tasks(dim, seed, unit, data):
    n_tasks = data.draw(st.integers(1, dim - 1))
    c, b, sigma, t, mu = problem(dim, n_tasks, seed, unit)
    est = reconstruct_mu(optimal_outputs(mu, c, b, sigma, t), c, b, sigma, t)
    proj = row_space_projection(mu, c)
    assert float((est - proj).abs().max()) < 1e-9
    # the projection is orthogonal: its residual is ⟂ every row, and it is what is lost
    assert float(((mu - proj) @ c.T).abs().max()) < 1e-12
    assert float((mu - est).norm(dim=1).min()) > 1e-6


def test_trilateration_matches_the_normal_equations():
    c, b, _, _, mu = problem(3, 7, 1)
    k = mu @ c.T + 0.01  # inconsistent system: least squares, not interpolation
    explicit = torch.linalg.solve(c.T @ c, c.T @ k.T).T
    assert torch.allclose(trilaterate(c, k), explicit, atol=1e-13, rtol=0)


def test_reconstruction_rejects_bad_arguments():
    c, b, sigma, t, mu = problem(2, 3, 0)
    y = optimal_outputs(mu, c, b, sigma, t)
    with pytest.raises(ValueError, match="sigma"):
        reconstruct_mu(y, c, b, -1.0, t)
    with pytest.raises(ValueError, match="outside"):
        reconstruct_mu(y + 1.0, c, b, sigma, t)
    with pytest.raises(ValueError, match="b has shape"):
        optimal_outputs(mu, c, b[:2], sigma, t)
    with pytest.raises(ValueError, match="zero row"):
        optimal_outputs(mu, torch.zeros((3, 2)), b, sigma, t)


def test_ndtri_exp_inverts_log_ndtr_in_both_tails():
    # known quantiles: Φ⁻¹(½) = 0, Φ⁻¹(Φ(±2)), and the deep tails far beyond float64 probabilities
    lp = torch.tensor([math.log(0.5), math.log(0.9772498680518208), 0.0, -math.inf], dtype=F64)
    assert torch.allclose(
        ndtri_exp(lp), torch.tensor([0.0, 2.0, math.inf, -math.inf], dtype=F64), atol=1e-12
    )
    z = torch.cat(
        [torch.linspace(-300, -38, 50), torch.linspace(-38, 38, 761), torch.tensor([1e4, -1e4])]
    ).to(F64)
    # above z ≈ 37.5 log Φ(z) = −Φ(−z) is subnormal and keeps fewer bits; at 38.4 it rounds to 0
    z = z[z.abs() <= 37.5]
    back = ndtri_exp(torch.special.log_ndtr(z))
    assert float(((back - z) / z.abs().clamp_min(1)).abs().max()) < 1e-14
    deep = torch.tensor([-1e4, -1e6], dtype=F64)  # log p = −5e7, −5e11: Newton on log Φ
    assert torch.allclose(ndtri_exp(torch.special.log_ndtr(deep)), deep, rtol=1e-13, atol=0)
    scipy_special = pytest.importorskip("scipy.special")
    lp = -torch.logspace(-300, 6, 400, dtype=F64)
    ref = torch.from_numpy(scipy_special.ndtri_exp(lp.numpy()))
    assert torch.allclose(ndtri_exp(lp), ref, rtol=2e-12, atol=1e-300)
    with pytest.raises(ValueError, match="log-probabilities"):
        ndtri_exp(torch.tensor([0.1], dtype=F64))


def test_log_space_reconstruction_exact_where_probabilities_saturate():
    # the task's scale: D = 2, six even boundaries, σ = 0.2, t = 20, μ up to a corner of the cube
    c = boundary_normals(6, 2, "even", 0).to(F64)
    b = torch.zeros(6, dtype=F64)
    g = torch.Generator().manual_seed(0)
    mu = torch.cat(
        [torch.rand((200, 2), generator=g, dtype=F64) - 0.5, torch.tensor([[0.5, 0.5]], dtype=F64)]
    )
    z = optimal_probits(mu, c, b, 0.2, 20)
    assert float(z.abs().max()) == pytest.approx(math.sqrt(20) / 0.2 * math.sqrt(0.5), rel=0.02)
    y = optimal_outputs(mu, c, b, 0.2, 20)
    assert bool((y == 1).any())  # float64 has rounded Φ(z) to exactly 1 for z > 8.3
    naive = reconstruct_mu(y, c, b, 0.2, 20)
    exact = reconstruct_mu_log(optimal_log_outputs(mu, c, b, 0.2, 20), c, b, 0.2, 20)
    assert float((naive - mu).abs().max()) > 0.1
    assert float((exact - mu).abs().max()) < 1e-12
    # and where nothing saturates the two routes agree
    c2, b2, sigma, t, mu2 = problem(3, 5, 4)
    agree = reconstruct_mu_log(optimal_log_outputs(mu2, c2, b2, sigma, t), c2, b2, sigma, t)
    assert torch.allclose(
        agree,
        reconstruct_mu(optimal_outputs(mu2, c2, b2, sigma, t), c2, b2, sigma, t),
        atol=1e-10,
        rtol=0,
    )


@settings(max_examples=40, deadline=None)
@given(
    dim=st.integers(1, 6),
    extra=st.integers(0, 6),
    seed=st.integers(0, 10_000),
    t=st.integers(1, 20),
)
def test_log_space_reconstruction_exact_at_task_scale(dim, extra, seed, t):
    g = torch.Generator().manual_seed(seed)
    c = torch.randn((dim + extra, dim), generator=g, dtype=F64)
    assume(float(torch.linalg.cond(c)) < 1e3)
    b = torch.zeros(dim + extra, dtype=F64)
    s = 0.2 / math.sqrt(t)
    mu = torch.rand((16, dim), generator=g, dtype=F64) - 0.5
    mu = mu + s * torch.randn((16, dim), generator=g, dtype=F64)
    est = reconstruct_mu_log(optimal_log_outputs(mu, c, b, 0.2, t), c, b, 0.2, t)
    assert float((est - mu).abs().max()) < 1e-9


def test_reconstruction_table():
    df = reconstruction_table(seed=0, n_draws=2)
    wide = df.pivot_table(
        index=["regime", "rows", "dim", "n_tasks", "draw", "sigma", "steps"],
        columns="metric",
        values="value",
    ).reset_index()
    assert len(wide) * 8 == len(df)  # one row per measurement, eight metrics per draw
    assert set(wide["dim"]) == set(range(2, 11)) and wide["n_tasks"].max() == 22
    assert (wide["rank"] == wide[["dim", "n_tasks"]].min(axis=1)).all()
    bounded = wide[wide.regime == "bounded"]
    full, few = bounded[bounded.n_tasks >= bounded.dim], bounded[bounded.n_tasks < bounded.dim]
    assert full["err_mu"].max() < 1e-9
    assert few["err_projection"].max() < 1e-9
    assert few["err_mu"].median() > 0.05  # μ itself is not recovered from N < D tasks
    assert bounded["saturated_fraction"].max() == 0.0 and bounded["max_abs_z"].max() < 6
    assert (bounded["err_mu_probability"] - bounded["err_mu"]).abs().max() < 1e-9
    task = wide[(wide.regime == "task") & (wide.n_tasks >= wide.dim)]
    # the paper's regime (σ = 0.2, t up to 20, the first draw a full trial): float64 saturates
    # Φ for some outputs and Φ⁻¹ of the probability only bounds μ; the log-space route is exact
    assert set(task["sigma"]) == {0.2} and task["steps"].max() == 20 and task["steps"].min() >= 1
    assert (wide.loc[(wide.regime == "task") & (wide.draw == 0), "steps"] == 20).all()
    assert task["max_abs_z"].max() > 15 and task["saturated_fraction"].max() > 0.1
    assert task["err_mu_probability"].max() > 1.0 and task["err_mu"].max() < 1e-9
    saturated = task[task["saturated_fraction"] > 0]
    assert (saturated["err_mu_probability"] > 1e-6).all()
    assert saturated["err_mu"].max() < 1e-9
    few_task = wide[(wide.regime == "task") & (wide.n_tasks < wide.dim)]
    assert few_task["err_projection"].max() < 1e-9


# ---------------------------------------------------------------- probit vs logistic

# docs/replication.md, "Theory checks"
FIT_A = {0.5: 0.6250, 1: 0.6205, 5: 0.5888, 10: 0.5886, 100: 0.5886}
FIT_MAE = {0.5: 7e-5, 1: 5e-4, 5: 6.6e-3, 10: 3.9e-3, 100: 3.9e-4}


def test_sigmoid_fit_reproduces_the_matlab_table():
    df = sigmoid_table()
    for half, a in FIT_A.items():
        fit = df[(df.part == "fit") & (df.range == half)]
        assert one(fit, metric="a") == pytest.approx(a, abs=5e-4)
        assert one(fit, metric="inv_a") == pytest.approx(1 / a, abs=2e-3)
        assert abs(one(fit, metric="b")) < 1e-8
        assert one(fit, metric="mae") == pytest.approx(FIT_MAE[half], rel=0.1)
    kap = df[df.part == "kappa"]
    err = {n: one(kap, target="logistic", kappa_name=n, metric="max_abs_err") for n in KAPPAS}
    best = one(kap, target="logistic", kappa_name="minimax", metric="kappa")
    assert best == pytest.approx(1 / 1.702, abs=5e-4)
    # the minimax κ is 0.5876, not 1/1.70 = 0.5882: the two rows must not be confused
    assert round(best, 4) == 0.5876
    assert round(one(kap, target="logistic", kappa_name="1/1.70", metric="kappa"), 4) == 0.5882
    minimax_err = one(kap, target="logistic", kappa_name="minimax", metric="max_abs_err")
    assert minimax_err == pytest.approx(0.009457, abs=2e-6) and minimax_err < min(err.values())
    assert err["1/1.70"] == pytest.approx(0.00956, abs=2e-4)
    # the poster's 2√3/π is not a logistic read-out constant: 14× worse than 1/1.70
    assert err["2*sqrt(3)/pi"] > 10 * err["1/1.70"] and err["2*sqrt(3)/pi"] > 0.13
    # ... it is the variance match of the slope-2 sigmoid ½(1 + tanh z), i.e. √3/π rescaled
    slope2 = one(kap, target="logistic_slope2", kappa_name="2*sqrt(3)/pi", metric="max_abs_err")
    assert slope2 == pytest.approx(err["sqrt(3)/pi"], abs=1e-9)
    assert one(kap, target="logistic_slope2", kappa_name="minimax", metric="kappa") == (
        pytest.approx(2 * best, abs=1e-3)
    )


def test_fit_and_max_error_basics():
    # Φ(κz) = logistic(z) has no exact solution; near 0 the slope match √(π/8) wins
    a, b, _ = fit_probit_to_logistic(0.05, 200)
    assert a == pytest.approx(math.sqrt(math.pi / 8), abs=2e-4) and abs(b) < 1e-10
    assert probit_max_error(KAPPAS["1/1.70"]) < probit_max_error(KAPPAS["sqrt(3)/pi"])
    assert minimax_kappa(2.0) == pytest.approx(2 * minimax_kappa(1.0), rel=1e-4)


# ---------------------------------------------------------------- linear read-out from logits


def test_best_kappa_recovers_a_planted_slope():
    c, b, sigma, t, mu = problem(3, 9, 2)
    s = sigma / math.sqrt(t)
    logits = (mu @ c.T - b) / (0.6 * s * c.norm(dim=1))  # exactly linear with κ = 0.6
    assert best_kappa(c, b, logits, s, mu) == pytest.approx(0.6, abs=1e-12)


def test_uniform_prior_logits_known_answers():
    s = 0.2 / math.sqrt(20)
    mu = torch.tensor([[0.01, -0.02], [0.3, 0.4], [0.45, -0.49], [0.6, 0.55]], dtype=F64)
    c = boundary_normals(6, 2, "even", 0).to(F64)
    b = torch.zeros(6, dtype=F64)
    bayes = uniform_prior_logits_2d(mu, c, b, 0.2, 20)
    flat = probit_logits(optimal_probits(mu, c, b, 0.2, 20))
    # deep inside the cube the truncation does not matter: Bayes = flat prior
    assert torch.allclose(bayes[0], flat[0], atol=1e-9, rtol=0)
    # the cube is symmetric: μ → −μ flips every logit
    assert torch.allclose(uniform_prior_logits_2d(-mu, c, b, 0.2, 20), -bayes, atol=1e-9, rtol=0)
    # an axis-aligned boundary x1 > 0.1 is a 1-D truncated-normal mass
    m = mu[:, 0]
    lo, mid, hi = [normal_cdf((v - m) / s) for v in (-0.5, 0.1, 0.5)]
    exact = torch.log(hi - mid) - torch.log(mid - lo)
    axis = torch.tensor([[1.0, 0.0]], dtype=F64)
    got = uniform_prior_logits_2d(mu[:3], axis, torch.tensor([0.1], dtype=F64), 0.2, 20)
    assert torch.allclose(got[:, 0], exact[:3], rtol=1e-10, atol=1e-10)
    # a tilted boundary against exact truncated-normal sampling (10⁶ draws, 5 standard errors)
    g = torch.Generator().manual_seed(3)
    point = mu[3]
    lo, hi = normal_cdf((-0.5 - point) / s), normal_cdf((0.5 - point) / s)
    u = torch.rand((1_000_000, 2), generator=g, dtype=F64)
    x = point + s * torch.special.ndtri(lo + u * (hi - lo))
    p = float((x @ c[1] > 0).to(F64).mean())
    se = 1 / math.sqrt(1e6 * p * (1 - p))
    assert float(bayes[3, 1]) == pytest.approx(math.log(p / (1 - p)), abs=5 * se)


def test_linear_decoder_table():
    df = linear_decoder_table(
        seed=0,
        n=800,
        dims=(2, 5),
        task_factors=(2,),
        sigmas=(0.2, 0.4),
        steps=(1, 20),
        uniform_tasks=(2, 6, 12),
    )
    flat = df[df.part == "flat_prior"]
    # small probit arguments (σ = 0.4, t = 1): Φ⁻¹ ∘ logistic is nearly linear
    easy = flat[(flat.sigma == 0.4) & (flat.steps == 1) & (flat.metric == "r2")]
    assert values(easy, decoder="1/1.70").min() > 0.85
    assert (values(easy, decoder="best") >= values(easy, decoder="1/1.70") - 1e-12).all()
    assert values(easy, decoder="1/1.70").min() > values(easy, decoder="2*sqrt(3)/pi").max() + 1
    # T = 20, σ = 0.2: exact logits grow like z²/2 and the fixed-κ read-out breaks down
    hard = flat[(flat.sigma == 0.2) & (flat.steps == 20)]
    assert values(hard, decoder="none", metric="max_abs_logit").min() > 50
    assert values(hard, decoder="1/1.70", metric="r2").max() < 0
    # check 5 (uniform prior, D = 2, σ = 0.2, T = 20)
    uni = df[df.part == "uniform_prior"]
    check = uni[(uni.sigma == 0.2) & (uni.steps == 20)]
    assert set(check.n_tasks) == {0, 2, 6, 12}
    ceiling = one(check, decoder="posterior_mean", target="x_star")
    assert ceiling == pytest.approx(bayes_r2_quadrature(0.2, 20), abs=0.004)
    fitted = check[
        (check.prior == "uniform") & (check.decoder == "lstsq") & (check.target == "x_star")
    ]
    assert fitted["value"].max() < ceiling
    assert values(fitted, n_tasks=12)[0] > 0.9 and values(fitted, n_tasks=2)[0] < 0.92
    # ... where every κ-formula read-out fails (r² −2 to −20), from either prior's logits
    formula = check[check.decoder.isin(list(KAPPAS)) & (check.metric == "r2")]
    assert len(formula) == 3 * 2 * 2 * len(KAPPAS) and formula["value"].max() < -2
    assert values(formula, decoder="2*sqrt(3)/pi").max() < -15


def test_kappa_formula_approaches_the_fitted_decoder_for_wide_posteriors():
    """The κ read-out μ̂ = κσ/√t·C⁺(Z + b) against a fitted affine decoder, D = 2, N = 6 even
    boundaries, over the posterior width σ/√t (the task's σ with t = 1..20, and t = 1, σ ≤ 0.8)."""
    df = linear_decoder_table(
        seed=0, n=800, dims=(2,), task_factors=(1,), sigmas=(0.2,), steps=(1,), uniform_tasks=(6,)
    )
    uni = df[df.part == "uniform_prior"].assign(width=lambda d: d.sigma / np.sqrt(d.steps))
    r2 = uni[(uni.metric == "r2") & (uni.n_tasks == 6)]
    wide = r2.pivot_table(index=["prior", "target", "width"], columns="decoder", values="value")
    assert len(r2) == len(wide) * (len(KAPPAS) + 2)  # one row per (setting, decoder)
    theorem = wide.loc[("flat", "mu")]  # the theorem's setting: μ from the flat-prior logits
    task = theorem.index.min()
    assert task == pytest.approx(0.2 / math.sqrt(20))
    # at the task's width every fixed κ fails while a fitted decoder (or a fitted κ) works
    assert theorem.loc[task, list(KAPPAS)].max() < -2 and theorem.loc[task, "lstsq"] > 0.95
    assert theorem.loc[task, "best"] > 0.9
    # the gap to the fitted decoder closes as the posterior widens (shorter t, larger σ) ...
    gap = theorem["lstsq"] - theorem["sqrt(3)/pi"]
    assert (gap.loc[:0.4].diff().dropna() < 0).all()
    assert gap.loc[0.4:].max() < 0.02 and gap.loc[task] > 3  # (wide: noisy, may be < 0)
    assert (theorem["lstsq"] - theorem["1/1.70"]).loc[0.4] < 0.06
    assert (theorem["lstsq"] - theorem["2*sqrt(3)/pi"]).min() > 2  # the poster's κ: never
    # ... where the logits stay moderate (median |Z| ≈ 1.4 at σ/√t = 0.4, ≈ 16 at the task)
    spread = uni[(uni.prior == "flat") & (uni.decoder == "none")].pivot_table(
        index="width", columns="metric", values="value"
    )
    assert spread.loc[0.4, "median_abs_logit"] < 2 and spread.loc[task, "median_abs_logit"] > 10
    assert spread.loc[task, "max_abs_logit"] > 100
    # the least-squares κ grows with the width towards the variance-matched √3/π
    kappa = uni[(uni.decoder == "best") & (uni.prior == "flat") & (uni.target == "mu")]
    kappa = kappa.drop_duplicates("width").set_index("width").kappa.sort_index()
    assert (kappa.diff().dropna() > 0).all() and kappa.loc[task] < 0.25
    assert kappa.iloc[-1] == pytest.approx(KAPPAS["sqrt(3)/pi"], abs=0.02)
    # for x*, under the task's uniform prior, no fixed κ comes within 0.1 of the fitted decoder
    task_x = wide.loc[("uniform", "x_star")]
    assert (task_x["lstsq"] - task_x[list(KAPPAS)].max(axis=1)).min() > 0.1


def test_linear_decoder_r2_depends_on_the_posterior_width_alone():
    kw = {"seed": 1, "n": 300, "dims": (2,), "task_factors": (1,), "sigmas": (0.2,)}
    df = linear_decoder_table(
        **kw, steps=(1,), uniform_tasks=(3,), regime=((0.2, 1), (0.4, 4)), regime_tasks=(3,)
    )
    uni = df[(df.part == "uniform_prior") & (df.n_tasks == 3)]
    keys = ["prior", "target", "decoder", "metric"]
    a = uni[(uni.sigma == 0.2) & (uni.steps == 1)].set_index(keys).value.sort_index()
    b = uni[(uni.sigma == 0.4) & (uni.steps == 4)].set_index(keys).value.sort_index()
    assert len(a) == 2 * (2 * (len(KAPPAS) + 2) + 2)  # per prior: r² per target and decoder, logits
    assert a.index.equals(b.index) and np.allclose(a, b, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- orthogonality

MEDIANS_D10 = {3: 28.0, 6: 16.5, 9: 12.8, 12: 11.0, 24: 7.4, 48: 5.2, 96: 3.7}


def test_column_angles_known_answer():
    pairs, angles = column_angles(torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, -1.0]]))
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert torch.allclose(angles, torch.tensor([45.0, 90.0, 135.0], dtype=F64), atol=1e-12)


def test_orthogonality_medians_and_concentration():
    df = orthogonality_table(seed=0, n_draws=300, dims=(2, 10))
    rnd = df[df.boundaries == "random"]
    dev = rnd.assign(dev=(90 - rnd.value).abs()).groupby(["dim", "n_tasks"])["dev"].median()
    for n, expected in MEDIANS_D10.items():
        assert dev[(10, n)] == pytest.approx(expected, abs=1.0)
    assert dev[(2, 12)] == pytest.approx(8.0, abs=1.0)
    scaled = [dev[(10, n)] * math.sqrt(n) for n in (12, 24, 48, 96)]
    assert max(scaled) / min(scaled) < 1.1  # |90° − angle| ∝ 1/√N
    even = df[df.boundaries == "even"]
    assert set(even.n_tasks) == {2, 3, 6, 9, 12, 24, 48, 96}
    assert (even.value - 90).abs().max() < 1e-4


@pytest.mark.parametrize("n_tasks", [2, 3, 4, 5, 7, 12, 24])
def test_even_boundaries_have_gram_n_over_2(n_tasks):
    c = boundary_normals(n_tasks, 2, "even", 0).to(F64)
    eye = torch.eye(2, dtype=F64)
    assert torch.allclose(c.T @ c, n_tasks / 2 * eye, atol=1e-6 * n_tasks, rtol=0)


# ---------------------------------------------------------------- r² ceilings

# (σ, samples) → (MLE theory, Bayes) (docs/replication.md, "Theory checks"); free-RT rows use
# T + 1 samples (ibid., "Deviations from the authors' code")
R2_TABLE = {
    (0.2, 20): (0.976, 0.978),
    (0.2, 21): (0.977, 0.979),
    (0.1, 20): (0.994, 0.994),
    (0.3, 20): (0.946, 0.952),
    (0.4, 20): (0.904, 0.920),
    (0.6, 20): (0.784, 0.836),
    (0.2, 2): (0.760, 0.822),
    (0.2, 3): (0.840, 0.874),
    (0.2, 6): (0.920, 0.932),
    (0.2, 11): (0.956, 0.961),
    (0.2, 41): (0.988, 0.989),
}


def test_r2_time_table_matches_theory_and_replication():
    df = r2_time_table(seed=0, n_trials=20_000)
    for (sigma, n), (mle, bayes) in R2_TABLE.items():
        rows = df[(df.sigma == sigma) & (df.n_samples == n)]
        analytic = values(rows, estimator="mle", method="analytic")
        assert analytic == pytest.approx(information_ceiling(sigma, n)) and analytic[0] == (
            pytest.approx(mle, abs=6e-4)
        )
        assert values(rows, estimator="bayes", method="quadrature") == pytest.approx(
            bayes, abs=5e-3
        )
    for (sigma, t, timing), rows in df.groupby(["sigma", "steps", "timing"]):
        n = t + (timing == "free")
        assert one(rows, estimator="mle", method="analytic") == pytest.approx(1 - 12 * sigma**2 / n)
        for est, ref in (("mle", "analytic"), ("bayes", "quadrature")):
            mc = one(rows, estimator=est, method="monte_carlo", metric="r2")
            se = one(rows, estimator=est, method="monte_carlo", metric="r2_se")
            k = 3 if (sigma, n) in R2_TABLE else 4  # 4 SE over all 70 settings
            assert abs(mc - one(rows, estimator=est, method=ref)) < k * se, (sigma, n, est)
        # the Bayes estimator never does worse than the unbiased one
        assert one(rows, estimator="bayes", method="quadrature") >= one(
            rows, estimator="mle", method="analytic"
        )


def test_truncated_normal_moments():
    mean, var = truncated_normal_moments(torch.tensor([0.0, 3.0, -0.5]), torch.tensor(1e-3))
    assert torch.allclose(mean, torch.tensor([0.0, 0.5, -0.5], dtype=F64), atol=1e-3)
    # against brute-force quadrature of the truncated density on [−½, ½]
    x = torch.linspace(-0.5, 0.5, 200_001, dtype=F64)
    for m, sd in ((0.0, 0.1), (0.3, 0.5), (0.2, 3.0), (0.0, 10.0), (0.7, 0.05), (-0.9, 0.1)):
        w = torch.exp(-0.5 * ((x - m) / sd) ** 2)
        bm = torch.trapezoid(w * x, x) / torch.trapezoid(w, x)
        bv = torch.trapezoid(w * (x - bm) ** 2, x) / torch.trapezoid(w, x)
        mean, var = truncated_normal_moments(torch.tensor([m]), sd)
        assert float(mean) == pytest.approx(float(bm), abs=1e-8)
        assert float(var) == pytest.approx(float(bv), rel=1e-6)
    # half-normal: truncating N(0.5, s²) at 0.5 from above gives mean 0.5 − s·√(2/π)
    mean, var = truncated_normal_moments(torch.tensor([0.5]), 0.01, low=-10.0)
    assert float(mean) == pytest.approx(0.5 - 0.01 * math.sqrt(2 / math.pi), rel=1e-12)
    assert float(var) == pytest.approx(1e-4 * (1 - 2 / math.pi), rel=1e-10)
    post = uniform_prior_posterior_mean(torch.tensor([[0.7, -0.1]]), 0.2, 20)
    assert float(post.abs().max()) <= 0.5


# ---------------------------------------------------------------- Locatello et al. 2019


def test_locatello_table():
    n = 1000
    df = locatello_table(seed=0, n=n, dims=(2, 3, 5))
    gauss, other = df[df.part == "gaussian"], df[df.part == "non_gaussian"]
    assert values(gauss, metric="max_abs_logdensity_diff").max() < 1e-12
    assert values(other, metric="max_abs_logdensity_residual").max() < 1e-10
    assert values(other, metric="max_abs_roundtrip_err").max() < 1e-10
    assert (values(other, metric="fraction_jacobian_nonzero") == 1.0).all()
    # the same distribution: marginals pass KS at the 0.1 % level, no correlations appear ...
    assert values(df, metric="max_ks_output").max() < 1.95 / math.sqrt(n)
    assert values(df, metric="max_abs_offdiag_corr_output").max() < 4 / math.sqrt(n)
    assert values(other, metric="max_abs_offdiag_corr_sq_output").max() < 4 / math.sqrt(n)
    # ... which the same KS test rejects for a plain rotation of the non-Gaussian code
    assert values(other, metric="max_ks_plain_rotation").min() > 0.3
    # ... yet every output mixes several factors (1 would be disentangled)
    assert values(df, metric="dominant_share").max() < 0.8


def test_only_orthogonal_maps_preserve_the_prior():
    g = torch.Generator().manual_seed(5)
    kinds = MARGINALS
    z = sample_prior(kinds, 200, g)
    rot = mixing_rotation(3, g)
    assert float((rot.T @ rot - torch.eye(3, dtype=F64)).abs().max()) < 1e-14
    residual, _ = pushforward_residual(kinds, rot, z)
    assert float(residual.abs().max()) < 1e-10
    stretched = rot @ torch.diag(torch.tensor([1.2, 1.0, 1.0], dtype=F64))
    residual, _ = pushforward_residual(kinds, stretched, z)
    assert float(residual.abs().median()) > 1e-2


def test_prior_log_densities_are_the_textbook_ones():
    """The densities whose invariance the Locatello check measures are normalised: they match
    torch.distributions (a wrong constant would cancel in the invariance check itself)."""
    from torch import distributions as dist

    from disentangle.theory.locatello import gaussian_log_density, marginal_log_density

    g = torch.Generator().manual_seed(0)
    v = torch.randn((500, 3), generator=g, dtype=torch.float64)
    expected = dist.Normal(0.0, 1.0).log_prob(v).sum(-1)
    assert torch.allclose(gaussian_log_density(v), expected, atol=1e-12)
    z = torch.rand((500, 3), generator=g, dtype=torch.float64) * 2.0  # some outside U(0, 1)
    kinds = ("uniform", "laplace", "exponential")
    want = (
        dist.Uniform(0.0, 1.0, validate_args=False).log_prob(z[:, 0]).nan_to_num(neginf=-math.inf)
        + dist.Laplace(0.0, 1.0).log_prob(z[:, 1])
        + dist.Exponential(1.0).log_prob(z[:, 2])
    )
    got = marginal_log_density(kinds, z)
    inside = torch.isfinite(want)
    assert inside.any() and (~inside).any()
    assert torch.allclose(got[inside], want[inside], atol=1e-12)
    assert torch.isneginf(got[~inside]).all()
