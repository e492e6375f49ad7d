"""PCA, fixed points, Jacobian spectra and time scales on constructed networks with known
answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disentangle.analysis.dynamics import (
    constant_input_map,
    find_fixed_points,
    fixed_point_starts,
    held_input,
    jacobian_spectrum,
    member_network,
    noise_free_trajectories,
    orthant_labels,
    state_pca,
    timescale_amplification,
    unique_points,
)
from disentangle.models.gpt2 import GPT2
from disentangle.models.recurrent import GRU, LSTM, LeakyRNN, NonLeakyRNN
from disentangle.seeding import generator
from disentangle.tasks.encoder import MixingEncoder, init_encoder_member
from disentangle.tasks.evidence import TaskSpec, build_inputs

TASK = TaskSpec()


def affine_encoder(scales: list[float], offsets: list[list[float]]) -> MixingEncoder:
    """K encoders with f_k(x) = scale_k·x + offset_k exactly (F = D = 2), built from the three
    ReLU layers as x = relu(x) − relu(−x)."""
    eye = torch.eye(2)
    params = {
        "w0": torch.cat([eye, -eye], dim=1),  # (2, 4): [x, −x]
        "b0": torch.zeros(4),
        "w1": torch.eye(4),
        "b1": torch.zeros(4),
        "w2": torch.cat([eye, -eye], dim=0),  # (4, 2): relu(x) − relu(−x)
        "b2": torch.zeros(2),
    }
    members = []
    for s, off in zip(scales, offsets, strict=True):
        m = dict(params)
        m["w2"] = params["w2"] * s
        m["b2"] = torch.tensor(off)
        members.append(m)
    return MixingEncoder.from_members(members)


def leaky_pair(w_in: torch.Tensor, w_rec: torch.Tensor, bias: torch.Tensor, cls=LeakyRNN):
    """A 2-member ensemble whose member 1 has the given weights; member 0 is random (so a wrong
    member index shows)."""
    g = generator("test-analysis-noise", 0)
    other = {
        "w_in": torch.randn(w_in.shape, generator=g),
        "w_rec": torch.randn(w_rec.shape, generator=g),
        "bias": torch.randn(bias.shape, generator=g),
    }
    return cls.from_members([other, {"w_in": w_in, "w_rec": w_rec, "bias": bias}])


# ---------------------------------------------------------------------------------------------
# A 2-unit linear-threshold network with one known fixed point and a spiral Jacobian
# ---------------------------------------------------------------------------------------------

W2 = torch.tensor([[0.5, 0.4], [-0.4, 0.5]])  # r @ W: eigenvalues 0.5 ± 0.4i
D2 = np.array([1.0, 0.5])  # the constant drive W_in·u* + b


def two_unit_network():
    # u* = [1, f(0)] with f(0) = (0.2, −0.1) for member 1: drive = [.75, .4] + [.15, −.1] + b
    w_in = torch.tensor([[0.75, 0.4], [1.0, 0.0], [0.5, 1.0]])
    bias = torch.tensor([0.1, 0.2])
    model = leaky_pair(w_in, W2, bias)
    encoder = affine_encoder([3.0, 1.0], [[1.0, 1.0], [0.2, -0.1]])
    return model, encoder


def test_constant_input_map_is_the_relu_map_of_member_k():
    model, encoder = two_unit_network()
    step = constant_input_map(model, encoder, TASK, 1)
    r = torch.tensor([[0.0, 0.0], [1.0, 2.0], [-3.0, 0.5]])
    expected = torch.relu(torch.tensor(D2, dtype=torch.float32) + r @ W2)
    assert torch.allclose(step(r), expected, atol=1e-6)


def test_two_unit_fixed_point_jacobian_and_timescale():
    model, encoder = two_unit_network()
    step = constant_input_map(model, encoder, TASK, 1)
    r_star = np.linalg.solve((np.eye(2) - W2.numpy().astype(np.float64)).T, D2)  # r(I − W) = d
    assert np.all(r_star > 0)  # the linear fixed point is in the active region: [0.732, 1.585]

    x = torch.tensor([[0.3, -0.2], [-0.4, 0.1]])
    traj, _ = noise_free_trajectories(model, encoder, TASK, 1, x)
    starts = fixed_point_starts(traj, generator("test-fp", 0), n_points=16)
    assert starts.shape == (16, 2)
    fp = find_fixed_points(step, starts, n_iters=3000)
    assert torch.allclose(fp.points.double(), torch.from_numpy(r_star), atol=1e-3)
    assert float(fp.speeds.max()) < 1e-6

    merged = unique_points(fp.points, eps=0.5, speeds=fp.speeds)
    assert len(merged.index) == 1 and torch.all(merged.labels == 0)
    assert int(merged.index[0]) == int(torch.argmin(fp.speeds))

    ev = jacobian_spectrum(step, merged.points)  # J of F − I = Wᵀ − I: −0.5 ± 0.4i
    assert ev.shape == (1, 2) and ev.dtype == torch.complex128
    got = sorted(ev[0].tolist(), key=lambda z: z.imag)
    assert got[0] == pytest.approx(complex(-0.5, -0.4), abs=1e-6)
    assert got[1] == pytest.approx(complex(-0.5, 0.4), abs=1e-6)

    amp = timescale_amplification(ev)  # |μ| = √0.41 for both; dt = τ so A = 1/|ln|μ||
    assert amp.shape == (1, 2)
    expected = torch.full((1, 2), 1 / abs(math.log(math.sqrt(0.41))), dtype=torch.float64)
    assert torch.allclose(amp, expected, rtol=1e-6)  # 2.2428
    slow = timescale_amplification(ev, dt=0.1, tau=0.05)
    assert torch.allclose(slow, 2 * amp)


def test_fixed_point_search_is_per_point():
    """Each starting point follows the path it would follow alone (batch independence)."""
    model, encoder = two_unit_network()
    step = constant_input_map(model, encoder, TASK, 1)
    starts = torch.tensor([[3.0, 0.1], [0.2, 5.0], [1.0, 1.0]])
    together = find_fixed_points(step, starts, n_iters=200)
    alone = find_fixed_points(step, starts[1:2], n_iters=200)
    assert torch.allclose(together.points[1:2], alone.points, atol=1e-6)
    assert not torch.allclose(together.points[1], starts[1])  # it moved


def test_fixed_point_starts_are_visited_states_plus_uniform_noise():
    states = torch.arange(12.0).reshape(2, 3, 2) * 10.0  # visited states, far apart
    starts = fixed_point_starts(states, generator("test-starts", 1), n_points=500, noise_max=6.0)
    base = torch.floor(starts / 10.0) * 10.0
    offset = starts - base
    assert torch.all((offset >= 0) & (offset < 6.0))
    visited = {tuple(v) for v in states.reshape(-1, 2).tolist()}
    assert {tuple(v) for v in base.tolist()} <= visited
    assert float(offset.mean()) == pytest.approx(3.0, abs=0.2)  # U(0, 6) has mean 3
    again = fixed_point_starts(states, generator("test-starts", 1), n_points=500, noise_max=6.0)
    assert torch.equal(starts, again)


# ---------------------------------------------------------------------------------------------
# A leaky RNN with a plane attractor: W = UUᵀ + 0.3(I − UUᵀ), drive ⊥ U
# ---------------------------------------------------------------------------------------------


def plane_attractor():
    u = torch.tensor([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]]).T / math.sqrt(2)  # (4, 2)
    proj = u @ u.T
    w_rec = proj + 0.3 * (torch.eye(4) - proj)
    w_in = torch.zeros(3, 4)
    w_in[0] = 1.0  # drive = fixation · (1, 1, 1, 1), orthogonal to the plane
    model = leaky_pair(w_in, w_rec, torch.zeros(4))
    encoder = affine_encoder([1.0, 1.0], [[0.0, 0.0], [0.0, 0.0]])
    return model, encoder, u


def test_plane_attractor_has_two_zero_eigenvalues():
    model, encoder, u = plane_attractor()
    step = constant_input_map(model, encoder, TASK, 1)
    centre = torch.full((4,), 1 / 0.7)  # the fixed point on the plane's origin
    g = generator("test-plane", 0)
    a = torch.rand((12, 2), generator=g) * 2 - 1  # plane coordinates in [−1, 1]²
    off = torch.randn((12, 4), generator=g) * 0.3
    off = off - (off @ u) @ u.T  # perturb off the plane only
    starts = centre + a @ u.T + off
    fp = find_fixed_points(step, starts, n_iters=3000)
    assert float(fp.speeds.max()) < 1e-8
    rel = fp.points - centre
    assert float((rel - (rel @ u) @ u.T).abs().max()) < 1e-3  # back on the plane
    assert torch.allclose(rel @ u, a, atol=0.05)  # ... near where each started: a continuum

    assert len(unique_points(fp.points, eps=0.01).index) == 12  # all distinct
    assert len(unique_points(fp.points, eps=10.0).index) == 1

    ev = jacobian_spectrum(step, fp.points)
    assert ev.shape == (12, 4)
    assert float(ev[:, :2].abs().max()) < 1e-6  # two marginal modes along the plane
    assert torch.allclose(ev[:, 2:], torch.full((12, 2), -0.7, dtype=torch.complex128), atol=1e-6)
    assert bool(((ev[:, 2:] + 1).abs() < 1).all())  # the rest inside the circle centred at −1
    amp = timescale_amplification(ev)
    assert float(amp.min()) > 1e5  # τ_net → ∞ along the attractor
    rest = timescale_amplification(ev, n_top=4)[:, 2:]
    assert torch.allclose(rest, torch.full_like(rest, 1 / abs(math.log(0.3))), rtol=1e-5)


def test_step_map_matches_the_models_own_recurrence():
    """Iterating F from 0 reproduces model(u) under a constant input [1, f(0)] (leaky, non-leaky,
    GRU); the LSTM and GPT-2 have no single-state map."""
    task = TaskSpec()
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(3)])
    for cls in (LeakyRNN, NonLeakyRNN, GRU):
        model = cls.from_members([cls.init_member(41, 8, generator("t-map", s)) for s in range(3)])
        for k in (0, 2):
            step = constant_input_map(model, encoder, task, k)
            f0 = encoder(torch.zeros(3, 1, 2))  # (3, 1, 40)
            u = torch.cat([torch.ones(3, 1, 1), f0], dim=-1)[:, :, None].expand(-1, -1, 6, -1)
            expected = model(u.contiguous())[k, 0]  # (6, 8)
            h = torch.zeros(1, 8)
            for t in range(6):
                h = step(h)
                assert torch.allclose(h[0], expected[t], atol=1e-5), (cls.__name__, k, t)
    lstm = LSTM.from_members([LSTM.init_member(41, 8, generator("t-map", 0))])
    with pytest.raises(ValueError, match="LSTM"):
        constant_input_map(lstm, encoder, task, 0)


def test_jacobian_spectrum_matches_per_point_autograd():
    """The batched Jacobian equals torch.autograd's per point, at points where some ReLU units are
    off (leaky RNN) and for the GRU's smooth map."""
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(2)])
    pts = torch.randn(7, 8, generator=generator("t-jac", 0))
    for cls in (LeakyRNN, GRU):
        model = cls.from_members([cls.init_member(41, 8, generator("t-jac", s)) for s in (0, 1)])
        step = constant_input_map(model, encoder, TASK, 1)
        ev = jacobian_spectrum(step, pts)
        for i in range(7):
            jac = torch.autograd.functional.jacobian(lambda v, f=step: f(v[None])[0] - v, pts[i])
            ref = torch.linalg.eigvals(jac.double())
            ref = ref[torch.argsort(ref.real, descending=True, stable=True)]
            assert torch.allclose(ev[i].real, ref.real, atol=1e-5), cls.__name__
            assert torch.allclose(ev[i].imag.abs(), ref.imag.abs(), atol=1e-5), cls.__name__
        if cls is LeakyRNN:  # an off unit contributes exactly −1 (its row of J_F is 0)
            assert bool(((ev + 1).abs() < 1e-9).any())


@pytest.mark.skipif(not hasattr(TaskSpec, "has_cue"), reason="TaskSpec has no free-RT variant")
def test_step_map_without_a_cue_channel():
    """Free-RT task (no fixation channel): u* = f(0) alone, 40 inputs."""
    task = TaskSpec(loss="ddm", fixation_steps=0, decision_steps=0)
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(2)])
    model = LeakyRNN.from_members(
        [LeakyRNN.init_member(40, 8, generator("t-ddm", s)) for s in (0, 1)]
    )
    feats = torch.randn(3, 40)
    assert torch.equal(held_input(task, feats), feats)
    assert torch.equal(held_input(TASK, feats)[:, 0], torch.ones(3))
    step = constant_input_map(model, encoder, task, 1)
    u = encoder(torch.zeros(2, 1, 2))[:, :, None].expand(-1, -1, 4, -1).contiguous()
    expected = model(u)[1, 0]
    h = torch.zeros(1, 8)
    for t in range(4):
        h = step(h)
        assert torch.allclose(h[0], expected[t], atol=1e-5)
    with pytest.raises(ValueError, match="expects 41"):
        constant_input_map(
            LeakyRNN.from_members([LeakyRNN.init_member(41, 8, generator("t", 0))]),
            encoder,
            task,
            0,
        )


# ---------------------------------------------------------------------------------------------
# Trajectories, labels, members
# ---------------------------------------------------------------------------------------------


def test_noise_free_trajectories_match_the_ensemble():
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(3)])
    model = LeakyRNN.from_members(
        [LeakyRNN.init_member(41, 8, generator("t-tr", s)) for s in range(3)]
    )
    x = torch.tensor([[0.1, 0.2], [-0.1, 0.2], [-0.1, -0.2], [0.1, -0.2], [0.0, 0.3]])
    u = build_inputs(TASK, encoder, x.expand(3, -1, -1), torch.zeros(3, 5, 20, 2))
    full = model(u)
    for k in range(3):
        states, labels = noise_free_trajectories(model, encoder, TASK, k, x)
        assert states.shape == (5, 22, 8)
        assert torch.allclose(states, full[k], atol=1e-6)
    assert labels.tolist() == [1, 2, 3, 4, 0]
    with pytest.raises(ValueError, match="member k = 3"):
        noise_free_trajectories(model, encoder, TASK, 3, x)


def test_orthant_labels_high_dim():
    x = torch.tensor([[-0.1, -0.2, 0.3], [0.1, -0.2, -0.3], [0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]])
    assert orthant_labels(x).tolist() == [1, 4, 7, 0]  # last coordinate fastest


def test_member_network_gpt2_matches_ensemble():
    members = [GPT2.init_member(41, 16, generator("t-gpt", s)) for s in range(3)]
    model = GPT2.from_members(members).eval()
    u = torch.randn(3, 2, 22, 41, generator=generator("t-gpt-u", 0))
    full = model(u)
    one = member_network(model, 1)
    assert one.n_members == 1 and not one.training
    assert torch.allclose(one(u[1:2])[0], full[1], atol=1e-5)
    assert all(not p.requires_grad for p in one.parameters())


# ---------------------------------------------------------------------------------------------
# PCA and clustering
# ---------------------------------------------------------------------------------------------


def test_state_pca_recovers_a_known_covariance():
    g = generator("test-pca", 0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    var = torch.tensor([9.0, 4.0, 1.0, 0.25, 0.04, 0.01], dtype=torch.float64)
    z = torch.randn(50_000, 6, generator=g, dtype=torch.float64) * var.sqrt()
    data = z @ q.T + torch.arange(6, dtype=torch.float64)
    res = state_pca(data.reshape(500, 100, 6), n_components=3)
    assert torch.allclose(res.explained_variance_ratio, var[:3] / var.sum(), rtol=0.03)
    cos = (res.components @ q[:, :3]).abs().diagonal()
    assert float(cos.min()) > 0.999
    assert res.projections.shape == (500, 100, 3)
    pvar = res.projections.reshape(-1, 3).var(dim=0)
    assert torch.allclose(pvar, var[:3], rtol=0.03)
    assert torch.allclose(res.mean, torch.arange(6, dtype=torch.float64), atol=0.05)
    peak = res.components.abs().argmax(dim=1)
    assert bool((res.components.gather(1, peak[:, None]) > 0).all())  # sign convention

    full = state_pca(data, n_components=6)
    rebuilt = full.projections @ full.components + full.mean
    assert torch.allclose(rebuilt, data, atol=1e-8)
    assert float(full.explained_variance_ratio.sum()) == pytest.approx(1.0)


def test_state_pca_exact_on_rank_two_data():
    a = torch.tensor([[1.0, 2.0], [-1.0, 0.0], [0.0, -2.0], [3.0, 1.0]])  # 4 points, 2-D
    basis = torch.tensor([[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.6, 0.8, 0.0, 0.0]])
    res = state_pca(a @ basis + 5.0, n_components=3)
    assert float(res.explained_variance_ratio[:2].sum()) == pytest.approx(1.0, abs=1e-6)
    assert float(res.explained_variance_ratio[2]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="n_components"):
        state_pca(a, n_components=3)


def test_unique_points_known_clusters():
    g = generator("test-clusters", 0)
    centres = torch.tensor([[0.0] * 5, [10.0] + [0.0] * 4, [0.0, 10.0, 0.0, 0.0, 0.0]])
    truth = torch.tensor([0, 1, 2] * 5)
    pts = centres[truth] + (torch.rand(15, 5, generator=g) - 0.5) * 0.08  # within-blob < 0.2
    perm = torch.randperm(15, generator=g)
    pts, truth = pts[perm], truth[perm]
    speeds = torch.rand(15, generator=g)
    res = unique_points(pts, eps=0.5, speeds=speeds)
    assert len(res.index) == 3
    for c in range(3):  # the partition equals the truth, labels numbered by first appearance
        members = torch.nonzero(res.labels == c).squeeze(1)
        assert len(set(truth[members].tolist())) == 1 and len(members) == 5
        assert int(res.index[c]) == int(members[torch.argmin(speeds[members])])
    firsts = [int(torch.nonzero(res.labels == c)[0]) for c in range(3)]
    assert firsts == sorted(firsts) and firsts[0] == 0
    assert torch.equal(res.points, pts[res.index])


def test_unique_points_chains_and_eps_boundary():
    line = torch.zeros(10, 3)
    line[:, 0] = torch.arange(10) * 0.4  # neighbours 0.4 apart, ends 3.6 apart
    assert len(unique_points(line, eps=0.5).index) == 1  # single linkage: one component
    assert len(unique_points(line * 1.5, eps=0.5).index) == 10  # 0.6 apart: all separate
    pair = torch.tensor([[0.0, 0.0], [0.49, 0.0], [2.0, 0.0], [2.51, 0.0]])
    res = unique_points(pair, eps=0.5)
    assert res.labels.tolist() == [0, 0, 1, 2]
    assert res.index.tolist() == [0, 2, 3]  # no speeds: the first member
