"""The task generator against the paper's definitions (docs/replication.md, "Task")."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle.seeding import derive_seed, generator
from disentangle.tasks import (
    MixingEncoder,
    TaskSpec,
    boundary_normals,
    build_inputs,
    evaluation_set,
    fold_masks,
    init_encoder_member,
    labels,
    sample_trials,
    targets,
    trial_targets,
)


@pytest.mark.parametrize("n_tasks", [1, 2, 3, 5, 6, 12, 24])
def test_even_boundaries_match_the_authors_labels(n_tasks):
    """y_k = 1[x2 > tan(φ_k)·x1] with φ_k = (k + ½)π/N, and 1[x1 < 0] at φ = 90° (odd N)."""
    x = torch.rand((4000, 2), generator=generator("test", 1)) - 0.5
    c = boundary_normals(n_tasks, 2, "even", seed=0)
    y = labels(x[None], c[None])[0]
    for k in range(n_tasks):
        phi = (k + 0.5) * math.pi / n_tasks
        if abs(phi - math.pi / 2) < 1e-9:
            expected = x[:, 0] < 0
        else:
            expected = x[:, 1] > math.tan(phi) * x[:, 0]
        assert torch.equal(y[:, k].bool(), expected), f"task {k} of {n_tasks}"
    assert torch.allclose(c.norm(dim=1), torch.ones(n_tasks))


@pytest.mark.parametrize("n_tasks", [2, 3, 6, 12, 24])
def test_even_boundaries_are_isotropic(n_tasks):
    """CᵀC = (N/2)·I for evenly spaced orientations (docs/replication.md, "Task"; derived)."""
    c = boundary_normals(n_tasks, 2, "even", seed=0).double()
    assert torch.allclose(c.T @ c, n_tasks / 2 * torch.eye(2, dtype=torch.float64), atol=1e-6)


def test_random_boundaries_are_unit_and_seeded():
    a = boundary_normals(9, 6, "random", seed=3)
    assert a.shape == (9, 6)
    assert torch.allclose(a.norm(dim=1), torch.ones(9), atol=1e-6)
    assert torch.equal(a, boundary_normals(9, 6, "random", seed=3))
    assert not torch.equal(a, boundary_normals(9, 6, "random", seed=4))


def test_latents_and_noise_statistics():
    spec = TaskSpec(noise_sd=0.2)
    x, noise = sample_trials(spec, generator("test", 2), (20000,))
    assert x.shape == (20000, 2) and noise.shape == (20000, 20, 2)
    assert x.min() >= -0.5 and x.max() < 0.5
    # U(-1/2, 1/2): mean 0, variance 1/12; standard errors ~ 0.002 and ~ 0.0004
    assert abs(float(x.mean())) < 0.01
    assert abs(float(x.var()) - 1 / 12) < 0.002
    # Gaussian noise with sd 0.2, independent across steps and channels
    assert abs(float(noise.mean())) < 0.002
    assert abs(float(noise.std()) - 0.2) < 0.002
    flat = noise.reshape(20000, -1)
    corr = torch.corrcoef(flat[:, :6].T)
    assert (corr - torch.eye(6)).abs().max() < 0.03


def test_trial_layout_and_targets():
    """22 steps: cue on for 21 steps and off at the decision; f(x* + ε_t) only in steps 1..20."""
    spec = TaskSpec()
    assert spec.n_steps == 22
    enc = MixingEncoder.from_members([init_encoder_member(2, 0), init_encoder_member(2, 1)])
    x, noise = sample_trials(spec, generator("test", 3), (2, 5))
    u = build_inputs(spec, enc, x, noise)
    assert u.shape == (2, 5, 22, 41)
    assert torch.equal(u[0, 0, :, 0], torch.tensor([1.0] * 21 + [0.0]))
    f0 = enc(torch.zeros(2, 1, 2))
    for t in (0, 21):
        assert torch.allclose(u[:, :, t, 1:], f0.expand(2, 5, 40))
    stim = enc(x.unsqueeze(2) + noise)
    assert torch.allclose(u[:, :, 1:21, 1:], stim)
    # member 1 is encoded by its own f, not member 0's
    f_of_0 = MixingEncoder.from_members([init_encoder_member(2, 0)])
    f_of_1 = MixingEncoder.from_members([init_encoder_member(2, 1)])
    stim1 = x[1:].unsqueeze(2) + noise[1:]
    assert torch.allclose(u[1:, :, 1:21, 1:], f_of_1(stim1), atol=1e-6)
    assert not torch.allclose(u[1:, :, 1:21, 1:], f_of_0(stim1), atol=1e-3)

    c = boundary_normals(3, 2, "even", 0).expand(2, 3, 2)
    y = labels(x, c)
    t_bce = targets(spec, y)
    assert torch.all(t_bce[:, :, :21] == 0.5) and torch.equal(t_bce[:, :, 21], y)
    t_mse = targets(TaskSpec(loss="mse"), y)
    assert torch.all(t_mse[:, :, :21] == 0) and torch.equal(t_mse[:, :, 21], 2 * y - 1)


def test_zero_noise_gives_constant_stimulus():
    spec = TaskSpec(noise_sd=0.0)
    x, noise = sample_trials(spec, generator("test", 4), (3,))
    assert torch.all(noise == 0)


def test_bad_task_settings_are_rejected():
    with pytest.raises(ValueError, match="noise_sd"):
        TaskSpec(noise_sd=-0.1)
    with pytest.raises(ValueError, match="boundaries"):
        TaskSpec(dim=3, boundaries="even")
    with pytest.raises(ValueError, match="loss"):
        TaskSpec(loss="hinge")


def test_quadrant_folds_partition_the_plane():
    ev = evaluation_set(TaskSpec(), 4000, 400, seed=0)
    names, masks = fold_masks(ev["x_train"])
    assert names == ["Q1", "Q2", "Q3", "Q4"]
    assert torch.equal(masks.sum(dim=0), torch.ones(4000, dtype=torch.long))
    x = ev["x_train"]
    assert torch.all(x[masks[0]] > 0)  # Q1 = (+, +)
    assert torch.all(x[masks[1], 0] < 0) and torch.all(x[masks[1], 1] > 0)  # Q2 = (−, +)
    assert torch.all(x[masks[2]] < 0)  # Q3 = (−, −)
    assert torch.all(masks.sum(dim=1) > 900)  # about a quarter each


def test_high_dim_folds_are_half_spaces():
    x = torch.rand((1000, 5), generator=generator("test", 5)) - 0.5
    names, masks = fold_masks(x)
    assert names == [f"x{j}<0" for j in range(1, 6)]
    assert torch.equal(masks, (x < 0).T)


def test_seeds_are_stable_and_distinct():
    # a fixed value guards against an accidental change of the derivation (it would change
    # every network of every preset)
    assert derive_seed("encoder", 0) == derive_seed("encoder", 0)
    assert derive_seed("encoder", 0) != derive_seed("init", 0)
    assert derive_seed("data", 1, 2, 3) != derive_seed("data", 1, 23)
    assert derive_seed("encoder", 0) == 4524043006648474480


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_correlated_latents_gaussian_copula(rho):
    """x* = Φ(z) − ½, z ~ N(0, [[1, ρ], [ρ, 1]]): uniform marginals, correlation (6/π)·asin(ρ/2)."""
    spec = TaskSpec(correlation=rho)
    x, _ = sample_trials(spec, generator("test-corr", 0), (40000,))
    assert x.min() >= -0.5 and x.max() <= 0.5
    assert abs(float(x.var(dim=0).mean()) - 1 / 12) < 0.002
    measured = float(torch.corrcoef(x.T)[0, 1])
    assert abs(measured - 6 / math.pi * math.asin(rho / 2)) < 0.015


def test_impossible_correlation_is_rejected():
    with pytest.raises(ValueError, match="correlation"):
        TaskSpec(correlation=1.0)
    with pytest.raises(ValueError, match="correlation"):
        TaskSpec(dim=3, correlation=-0.6)  # below −1/(D − 1)


def test_free_rt_ddm_targets():
    """Running sum of the projected evidence, absorbed at ±bound once crossed (docs/replication.md,
    "Task")."""
    spec = TaskSpec(
        loss="ddm",
        fixation_steps=0,
        decision_steps=0,
        stimulus_steps=20,
        noise_sd=0.0,
        ddm_bound=1.0,
    )
    assert spec.n_steps == 20 and not spec.has_cue and spec.input_size == 40
    c = boundary_normals(3, 2, "even", 0)[None]
    x = torch.tensor([[[0.3, -0.1], [0.02, 0.01]]])
    noise = torch.zeros(1, 2, 20, 2)
    target, y = trial_targets(spec, x, noise, c)
    drift = (x @ c[0].T)[0]  # (2 trials, 3 tasks)
    steps = torch.arange(1, 21, dtype=torch.float32)[:, None]
    for m in range(2):
        free = steps * drift[m]
        expected = torch.where(free.abs().cummax(dim=0).values >= 1.0, torch.sign(free), free)
        assert torch.allclose(target[0, m], expected, atol=1e-6)
    assert torch.equal(y, labels(x, c))
    # with noise: once the bound is reached the target never leaves it
    spec_noisy = TaskSpec(
        loss="ddm", fixation_steps=0, decision_steps=0, noise_sd=0.5, ddm_bound=2.0
    )
    x, noise = sample_trials(spec_noisy, generator("test-ddm", 0), (1, 500))
    t, _ = trial_targets(spec_noisy, x, noise, boundary_normals(4, 2, "even", 0)[None])
    at_bound = t.abs() >= 2.0 - 1e-6
    assert at_bound.any() and not at_bound.all()
    assert torch.all(at_bound[:, :, 1:] >= at_bound[:, :, :-1])  # absorbing
    enc = MixingEncoder.from_members([init_encoder_member(2, 0)])
    assert build_inputs(spec_noisy, enc, x, noise).shape == (1, 500, 20, 40)


def test_free_rt_needs_no_fixation_or_decision_period():
    with pytest.raises(ValueError, match="free reaction time"):
        TaskSpec(loss="ddm")


def test_concentric_boundaries_are_the_authors_circles():
    """y_i = 1[‖x‖ > r_i], r_i = √2·(½ − 1/(4N))·i/N (their CircularClassification): N = 6 gives
    radii 0.108 … 0.648, and a point at radius 0.3 is outside the first two circles only."""
    from disentangle.tasks.evidence import boundary_normals, labels

    c = boundary_normals(6, 2, "concentric", seed=5)
    assert torch.allclose(
        c[:, 0], torch.tensor([0.108, 0.216, 0.324, 0.432, 0.540, 0.648]), atol=1e-3
    )
    assert torch.equal(c, boundary_normals(6, 2, "concentric", seed=0))  # no random draw
    x = torch.tensor([[[0.3, 0.0], [0.0, -0.05], [0.45, 0.45]]])
    y = labels(x, c[None], "concentric")
    assert y[0, 0].tolist() == [1, 1, 0, 0, 0, 0]
    assert y[0, 1].sum() == 0 and y[0, 2].tolist() == [1, 1, 1, 1, 1, 0]


def test_curved_boundaries_are_the_authors_hyperbolas():
    """N/4 tasks per quadrant (Q1..Q4), y = 1[x in the task's quadrant and |x1 x2| > c_k],
    c_k = 0.2·linspace(1/(2N), 1, N/4) (their MultiplyClassificationFull); N = 24: c = 0.0042 …
    0.2; a padding row labels nothing; N not a multiple of 4 is an error."""
    from disentangle.tasks.evidence import boundary_normals, labels

    c = boundary_normals(24, 2, "curved", seed=0)
    expected = 0.2 * torch.linspace(1 / 48, 1, 6)
    assert (
        torch.allclose(c[:6, 0], expected)
        and c[:, 1].tolist() == [1.0] * 6 + [2.0] * 6 + [3.0] * 6 + [4.0] * 6
    )
    x = torch.tensor(
        [[[0.3, 0.3], [-0.3, 0.3], [-0.1, -0.1], [0.45, -0.45]]]
    )  # |x1 x2| .09 .09 .01 .2025
    y = labels(x, c[None], "curved")[0]
    assert y[0, :6].tolist() == [1, 1, 1, 0, 0, 0] and y[0, 6:].sum() == 0
    assert y[1, 6:12].tolist() == [1, 1, 1, 0, 0, 0] and y[1].sum() == 3
    assert y[2, 12:18].tolist() == [1, 0, 0, 0, 0, 0] and y[2].sum() == 1
    assert y[3, 18:].tolist() == [1, 1, 1, 1, 1, 1] and y[3].sum() == 6
    padded = torch.cat([c, torch.zeros((2, 2))])[None]
    assert labels(x, padded, "curved")[0, :, 24:].sum() == 0
    with pytest.raises(ValueError, match="multiple of 4"):
        boundary_normals(6, 2, "curved", seed=0)


def test_nonlinear_boundaries_need_two_latents_and_a_fixed_reaction_time():
    from disentangle.tasks.spec import TaskSpec

    with pytest.raises(ValueError, match="task.dim = 2 only"):
        TaskSpec(dim=3, boundaries="concentric")
    with pytest.raises(ValueError, match="boundary normals"):
        TaskSpec(boundaries="curved", loss="ddm", fixation_steps=0, decision_steps=0)


@pytest.mark.parametrize(
    "kind, sd, mean, lag1",
    [
        ("gaussian", (0.2, 0.2), 0.0, 0.0),
        ("anisotropic", (0.2, 0.4), 0.0, 0.0),
        ("autocorrelated", (0.2, 0.2), 0.0, 0.7),
        # Gumbel(0, β): sd βπ/√6, mean βγ (γ = 0.5772, Euler's constant), not centred
        ("gumbel", (0.2 * math.pi / math.sqrt(6),) * 2, 0.2 * 0.5772, 0.0),
    ],
)
def test_noise_kinds_have_their_moments(kind, sd, mean, lag1):
    """Each noise kind's sd per latent, mean and lag-1 autocorrelation in time, on 10⁵ trials."""
    from disentangle.seeding import generator
    from disentangle.tasks.evidence import sample_noise
    from disentangle.tasks.spec import TaskSpec

    noise = sample_noise(TaskSpec(noise=kind), generator("test-noise", 0), (100_000,)).double()
    assert torch.allclose(noise.std(dim=(0, 1)), torch.tensor(sd, dtype=torch.float64), rtol=0.01)
    assert abs(float(noise.mean()) - mean) < 0.003
    a, b = noise[:, 1:, 0], noise[:, :-1, 0]
    corr = float(((a - a.mean()) * (b - b.mean())).mean() / (a.std() * b.std()))
    assert abs(corr - lag1) < 0.01


def test_gaussian_noise_draws_are_unchanged_and_left_out_of_the_spec():
    """The default kind draws exactly what sample_trials drew before the kinds existed (x*, then
    randn·σ from the same stream), and is left out of the spec; other kinds are kept in it."""
    from disentangle.seeding import generator
    from disentangle.tasks.evidence import sample_trials
    from disentangle.tasks.spec import TaskSpec

    spec = TaskSpec()
    x, noise = sample_trials(spec, generator("test-noise", 1), (5,))
    g = generator("test-noise", 1)
    x_ref = torch.rand((5, 2), generator=g) - 0.5
    assert torch.equal(x, x_ref)
    assert torch.equal(noise, torch.randn((5, 20, 2), generator=g) * 0.2)
    assert "noise" not in spec.to_dict() and TaskSpec(noise="gumbel").to_dict()["noise"] == "gumbel"
    with pytest.raises(ValueError, match="task.noise"):
        TaskSpec(noise="laplace")
