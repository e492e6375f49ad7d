"""Angles between decoder axes: known geometries and rank-deficient ReLU codes."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle.analysis.geometry import (
    angle_vs_penalty,
    axis_angles,
    axis_pairs,
    ideal_code_decoder,
)
from disentangle.seeding import generator
from disentangle.tasks import boundary_normals


def test_axis_angles_known_pairs():
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    assert axis_angles(w).tolist() == pytest.approx([90.0])
    w45 = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert axis_angles(w45).tolist() == pytest.approx([45.0])
    w135 = torch.tensor([[1.0, -1.0], [0.0, 1.0]])
    assert axis_angles(w135).tolist() == pytest.approx([135.0])
    anti = torch.tensor([[2.0, -0.5], [1.0, -0.25]])  # opposite directions, different lengths
    assert axis_angles(anti).tolist() == pytest.approx([180.0])
    assert axis_angles(anti * torch.tensor([1.0, -1.0])).tolist() == pytest.approx([0.0], abs=1e-5)


def test_axis_angles_pairs_order_batch_and_zero_columns():
    c60 = [math.cos(math.radians(60)), math.sin(math.radians(60))]
    w = torch.tensor([[1.0, c60[0], 0.0], [0.0, c60[1], 0.0], [0.0, 0.0, 3.0]])  # (H=3, D=3)
    assert axis_pairs(3) == [(0, 1), (0, 2), (1, 2)]
    assert axis_angles(w).tolist() == pytest.approx([60.0, 90.0, 90.0])
    batch = torch.stack([w, w[:, [1, 0, 2]]])[:, None].expand(2, 4, 3, 3)
    out = axis_angles(batch)
    assert out.shape == (2, 4, 3)
    assert torch.allclose(out[1, 2], torch.tensor([60.0, 90.0, 90.0], dtype=torch.float64))
    zero = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert math.isnan(float(axis_angles(zero)[0]))
    with pytest.raises(ValueError, match="D >= 2"):
        axis_angles(torch.ones(4, 1))


def rectified_code(w: torch.Tensor, n: int = 4000, dead: int = 4):
    """ReLU states from a linear code s = x·W (W: 2 × h): [relu(s), relu(−s), dead units].
    The read-out x = (relu(s) − relu(−s))·pinv(W) is exact, so the states are rank deficient
    (h − 2 exact linear relations plus the dead units)."""
    x = torch.rand((n, 2), generator=generator("test-geometry-x", 0)) - 0.5
    s = x @ w
    return torch.cat([torch.relu(s), torch.relu(-s), torch.zeros(n, dead)], dim=1), x


def orthonormal(h: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(h, h, generator=generator("test-geometry-q", 0)))
    return q


PENALTIES = [1e-6, 1e-4, 1e-2, 1e-1]


def test_angle_is_stable_across_the_penalty_for_an_orthogonal_code():
    q = orthonormal(6)
    states, x = rectified_code(q[:, :2].T)
    centred = (states - states.mean(0)).double()
    assert int(torch.linalg.matrix_rank(centred, rtol=1e-6)) < states.shape[1]  # rank deficient
    table = angle_vs_penalty(states, x, PENALTIES)
    assert list(table.columns) == ["penalty", "i", "j", "angle", "train_r2"]
    assert table["penalty"].tolist() == PENALTIES and (table[["i", "j"]] == [0, 1]).all().all()
    assert table["angle"].tolist() == pytest.approx([90.0] * 4, abs=0.2)  # measured 90.00–90.08
    assert (table["train_r2"] > 0.999).all()


def test_angle_follows_a_non_orthogonal_code():
    """Axes 60° apart in the code: the decoder is pinv(W), whose columns are 120° apart."""
    q = orthonormal(6)
    w = torch.stack([q[:, 0], 0.5 * q[:, 0] + math.sqrt(0.75) * q[:, 1]])
    states, x = rectified_code(w)
    table = angle_vs_penalty(states, x, PENALTIES)
    # measured 120.00, 120.00, 119.90, 118.99: a strong penalty shrinks the angle a little
    assert table["angle"].tolist()[:3] == pytest.approx([120.0] * 3, abs=0.3)
    assert 118.0 < table["angle"].iloc[3] < 120.0


def test_angle_vs_penalty_rejects_bad_arguments():
    states, x = rectified_code(orthonormal(4)[:, :2].T, n=50)
    with pytest.raises(ValueError, match="penalties"):
        angle_vs_penalty(states, x, [-1.0])
    with pytest.raises(ValueError, match="expected"):
        angle_vs_penalty(states[:10], x, [0.1])


def test_ideal_code_of_evenly_spaced_boundaries_is_orthogonal_for_every_n():
    """CᵀC = (N/2)·I for the paper's 2-D boundaries: the ideal code's axes are at 90° for every
    N and every penalty (docs/replication.md, "Task"; derived)."""
    cov = torch.eye(2, dtype=torch.float64) / 12
    for n in (2, 3, 6, 12, 24):
        c = boundary_normals(n, 2, "even", 0)
        for penalty in (0.0, 0.01, 1.0):
            angle = axis_angles(ideal_code_decoder(c, cov, 0.002, penalty))
            assert angle.tolist() == pytest.approx([90.0], abs=1e-9), (n, penalty)


def test_ideal_code_decoder_is_the_pseudo_inverse_without_noise_and_penalty():
    """For N ≥ D, no noise and no penalty the decoder is C·(CᵀC)⁻¹ (the rows of pinv(C)), whose
    column Gram matrix is (CᵀC)⁻¹: its angles, not C's own column angles."""
    for n, d in ((3, 2), (6, 6), (12, 10)):
        c = boundary_normals(n, d, "random", 3).double()
        w = ideal_code_decoder(c, torch.eye(d, dtype=torch.float64) / 12, 0.0, 0.0)
        torch.testing.assert_close(w, c @ torch.linalg.inv(c.T @ c))
        gram = torch.linalg.inv(c.T @ c)
        norms = gram.diagonal().sqrt()
        cos = gram / norms[:, None] / norms[None, :]
        i, j = torch.triu_indices(d, d, offset=1)
        expected = torch.rad2deg(torch.arccos(cos[i, j]))
        torch.testing.assert_close(axis_angles(w), expected)
        assert not torch.allclose(axis_angles(w), axis_angles(c))  # differs from C's columns


def test_a_network_holding_the_ideal_code_matches_its_prediction():
    """States that are an isometric image of the noisy logits C·μ (plus dead units): the ridge
    decoder fitted to 20,000 sampled trials finds the population prediction's angles."""
    g = generator("test-geometry-ideal", 0)
    n, d, h, noise_var = 20_000, 4, 16, 0.002
    c = boundary_normals(9, d, "random", 1)
    x = torch.rand((n, d), generator=g, dtype=torch.float64) - 0.5
    mu = x + noise_var**0.5 * torch.randn((n, d), generator=g, dtype=torch.float64)
    q = orthonormal(h)[:, :9].double()  # (h, N): orthonormal columns
    logits = mu @ c.double().T
    states = torch.cat([logits @ q.T, torch.zeros(n, 3, dtype=torch.float64)], dim=1)
    table = angle_vs_penalty(states.float(), x.float(), [1e-3, 1e-2], c, noise_var)
    assert list(table.columns) == ["penalty", "i", "j", "angle", "train_r2", "ideal_angle"]
    assert len(table) == 2 * 6
    # measured: within 0.35° of the prediction (sampling, and the penalty's scale, which is
    # relative to the mean squared activity of 19 units here, 9 logits there); the predictions
    # themselves span 70-110°
    assert table.angle.tolist() == pytest.approx(table.ideal_angle.tolist(), abs=1.0)
    assert table.ideal_angle.max() - table.ideal_angle.min() > 20


def test_ideal_code_decoder_rejects_bad_arguments():
    c = boundary_normals(3, 2, "random", 0)
    with pytest.raises(ValueError, match="x_cov"):
        ideal_code_decoder(c, torch.eye(3), 0.0, 0.01)
    with pytest.raises(ValueError, match="penalty"):
        ideal_code_decoder(c, torch.eye(2), 0.0, -1.0)


def test_pick_member_has_no_fallback():
    from disentangle.analysis.table_builders import pick_member

    members = [(2, 0), (24, 0), (2, 1), (24, 1)]
    assert pick_member(members, 24, 1) == 3
    with pytest.raises(SystemExit, match="analysis.n_tasks = 6, analysis.seed = 0"):
        pick_member(members, 6, 0)
