"""Tuning rasters, correlation maps, GPT-2 value vectors and lifetime sparseness on constructed
networks whose responses are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from disentangle.analysis.dynamics import noise_free_trajectories
from disentangle.analysis.sparsity import (
    active_fraction,
    lifetime_sparseness,
    network_sparsity,
    signed_rates,
)
from disentangle.analysis.tuning import (
    gpt_value_vectors,
    grid_latents,
    tuning_correlations,
    tuning_grid,
)
from disentangle.models.gpt2 import GPT2, LN_EPS
from disentangle.models.recurrent import LSTM, LeakyRNN
from disentangle.seeding import generator
from disentangle.tasks.encoder import MixingEncoder, init_encoder_member
from disentangle.tasks.evidence import TaskSpec

TASK = TaskSpec()
GRID = np.linspace(-0.5, 0.5, 8)


def identity_encoder(n_members: int) -> MixingEncoder:
    """f(x) = x exactly (F = 2) from the three ReLU layers: x = relu(x) − relu(−x)."""
    eye = torch.eye(2)
    member = {
        "w0": torch.cat([eye, -eye], dim=1),
        "b0": torch.zeros(4),
        "w1": torch.eye(4),
        "b1": torch.zeros(4),
        "w2": torch.cat([eye, -eye], dim=0),
        "b2": torch.zeros(2),
    }
    return MixingEncoder.from_members([member] * n_members)


def pair(member: dict[str, torch.Tensor]) -> LeakyRNN:
    """Member 1 is ``member``; member 0 is random, so a wrong member index shows."""
    g = generator("test-tuning-other", 0)
    other = {k: torch.randn(v.shape, generator=g) for k, v in member.items()}
    return LeakyRNN.from_members([other, member])


def integrator_network() -> LeakyRNN:
    """Inputs [fix, x1, x2]; W_rec = I, so every unit sums its (non-negative) drive:
    unit 0: 0.5·fix + x1,  unit 1: 0.5·fix − x1,  unit 2: fix + x1 + x2,
    unit 3: dead (bias −1),  unit 4: x1 alone (accumulates 20·relu(x1))."""
    w_in = torch.tensor(
        [
            [0.5, 0.5, 1.0, 0.0, 0.0],
            [1.0, -1.0, 1.0, 0.0, 1.0],
            [0.0, 0.0, 1.0, 0.0, 0.0],
        ]
    )
    bias = torch.tensor([0.0, 0.0, 0.0, -1.0, 0.0])
    return pair({"w_in": w_in, "w_rec": torch.eye(5), "bias": bias})


def expected_responses(x1: np.ndarray, x2: np.ndarray, full_trial: bool) -> np.ndarray:
    pre = np.array([0.5, 0.5, 1.0, 0.0, 0.0]) if full_trial else np.zeros(5)  # fixation step
    stim = np.stack([0.5 + x1, 0.5 - x1, 1 + x1 + x2, 0 * x1, np.maximum(x1, 0)], axis=1)
    return pre + 20 * stim


def test_grid_latents():
    x = grid_latents(8).numpy()
    assert x.shape == (64, 2)
    assert np.allclose(x[:8, 0], -0.5) and np.allclose(x[:8, 1], GRID, atol=1e-7)
    assert np.allclose(np.unique(x[:, 0]), GRID, atol=1e-7)


@pytest.mark.parametrize("full_trial", [False, True])
def test_tuning_grid_known_responses(full_trial):
    model = integrator_network()
    table = tuning_grid(model, identity_encoder(2), TASK, 1, full_trial=full_trial)
    assert list(table.columns) == ["x1", "x2", "unit", "rate"] and len(table) == 64 * 5
    rates = table["rate"].to_numpy().reshape(64, 5)
    x1 = table["x1"].to_numpy()[::5]
    x2 = table["x2"].to_numpy()[::5]
    assert np.allclose(rates, expected_responses(x1, x2, full_trial), atol=1e-4)
    assert table["unit"].tolist()[:10] == [0, 1, 2, 3, 4] * 2


def test_tuning_correlations_known_values():
    table = tuning_grid(integrator_network(), identity_encoder(2), TASK, 1)
    corr = tuning_correlations(table).set_index("unit")
    assert corr.loc[0, "corr_x1"] == pytest.approx(1.0) and math.isnan(corr.loc[0, "corr_x2"])
    assert corr.loc[1, "corr_x1"] == pytest.approx(-1.0) and math.isnan(corr.loc[1, "corr_x2"])
    assert corr.loc[2, "corr_x1"] == pytest.approx(1.0)
    assert corr.loc[2, "corr_x2"] == pytest.approx(1.0)
    assert corr[["corr_x1", "corr_x2"]].loc[3].isna().all()  # a dead unit has no tuning
    relu_corr = np.corrcoef(GRID, np.maximum(GRID, 0))[0, 1]  # 0.9165 on the 8-point grid
    assert corr.loc[4, "corr_x1"] == pytest.approx(relu_corr, abs=1e-5)


def test_tuning_correlations_averages_over_the_other_latent():
    """A unit x1·x2 + x2: averaged over x1 (mean 0) it is x2 → corr 1; averaged over x2 it is
    flat → NaN. A unit x1 + 3·x2 has corr 1 with both."""
    x = grid_latents(8).numpy()
    rows = []
    for unit, f in enumerate([lambda a, b: a * b + b, lambda a, b: a + 3 * b]):
        for a, b in x:
            rows.append({"x1": a, "x2": b, "unit": unit, "rate": f(a, b)})
    corr = tuning_correlations(pd.DataFrame(rows)).set_index("unit")
    assert corr.loc[0, "corr_x2"] == pytest.approx(1.0) and np.isnan(corr.loc[0, "corr_x1"])
    assert corr.loc[1].tolist() == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="rate"):
        tuning_correlations(pd.DataFrame(rows).drop(columns="rate"))


# ---------------------------------------------------------------------------------------------
# GPT-2 value vectors
# ---------------------------------------------------------------------------------------------


def perturbed_gpt(n_members: int, hidden: int) -> GPT2:
    members = []
    for s in range(n_members):
        g = generator("test-gpt-values", s)
        m = GPT2.init_member(41, hidden, g)
        for name in ("ln1_w", "ln1_b", "attn_b", "attn_proj_b", "ln2_b", "lnf_b"):
            m[name] = m[name] + 0.3 * torch.randn(m[name].shape, generator=g)
        m["attn_w"] = m["attn_w"] * 20.0  # make the attention branch dominate the residual
        m["attn_proj_w"] = m["attn_proj_w"] * 50.0
        members.append(m)
    return GPT2.from_members(members).eval()


def test_gpt_value_vectors_rebuild_the_forward_pass():
    """With the same input at every token and no positional embeddings, the attention output is
    the value vector itself, so the block's output follows from the reported values alone."""
    model = perturbed_gpt(2, 16)
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(2)])
    k = 1
    table = gpt_value_vectors(model, encoder, TASK, k)
    assert len(table) == 64 * 16 and table["unit"].max() == 15
    values = torch.tensor(table["rate"].to_numpy(), dtype=torch.float32).reshape(64, 16)

    x = grid_latents(8)
    feats = encoder(x[None].expand(2, -1, -1))  # (2, 64, 40)
    u = torch.cat([torch.ones(2, 64, 1), feats], dim=-1)[:, :, None].expand(-1, -1, 22, -1)
    out = model(u.contiguous())[k, :, -1]  # (64, 16)

    def ln(z, w, b):
        return F.layer_norm(z, (16,), eps=LN_EPS) * w[k] + b[k]

    emb = u[k, :, -1] @ model.w_in[k] + model.b_in[k]
    y = emb + values @ model.attn_proj_w[k] + model.attn_proj_b[k]
    m = F.gelu(ln(y, model.ln2_w, model.ln2_b) @ model.fc_w[k] + model.fc_b[k], approximate="tanh")
    y = y + m @ model.mlp_proj_w[k] + model.mlp_proj_b[k]
    err = (ln(y, model.lnf_w, model.lnf_b) - out).abs().max().detach()
    assert float(err) < 2e-5, float(err)

    with pytest.raises(ValueError, match="GPT2"):
        gpt_value_vectors(integrator_network(), identity_encoder(2), TASK, 0)


# ---------------------------------------------------------------------------------------------
# Sparsity
# ---------------------------------------------------------------------------------------------


def test_lifetime_sparseness_known_values():
    m = 10
    one_hot = torch.zeros(m)
    one_hot[3] = 3.0
    rates = torch.stack(
        [one_hot, torch.full((m,), 2.0), torch.zeros(m), (torch.arange(m) < 5).float()], dim=1
    )
    s = lifetime_sparseness(rates)
    assert s.tolist() == pytest.approx([1.0, 0.0, 1.0, (1 - 0.25 / 0.5) / (1 - 1 / m)])
    ramp = torch.tensor([[1.0], [2.0], [3.0], [4.0]])  # 1 − 6.25/7.5 = 1/6, / (3/4) = 2/9
    assert float(lifetime_sparseness(ramp)[0]) == pytest.approx(2 / 9)
    with pytest.raises(ValueError, match="m >= 2"):
        lifetime_sparseness(torch.ones(1, 3))


def test_signed_rates_options():
    rates = torch.tensor([[-1.0], [1.0]])
    assert float(lifetime_sparseness(signed_rates(rates, "raw"))[0]) == pytest.approx(2.0)
    assert float(lifetime_sparseness(signed_rates(rates, "abs"))[0]) == pytest.approx(0.0)
    assert float(lifetime_sparseness(signed_rates(rates, "rectify"))[0]) == pytest.approx(1.0)
    assert active_fraction(torch.tensor([[1.0, 0.0], [0.0, -1.0]])) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="negative"):
        signed_rates(rates, "square")


def sparse_network() -> LeakyRNN:
    """W_rec = 0, so the state at any step is ReLU of that step's drive. During the stimulus:
    unit 0 = relu(x1), unit 1 = 1 (fixation), unit 2 dead, unit 3 = relu(−x2)."""
    w_in = torch.tensor([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, -1.0]])
    bias = torch.tensor([0.0, 0.0, -1.0, 0.0])
    return pair({"w_in": w_in, "w_rec": torch.zeros(4, 4), "bias": bias})


def test_network_sparsity_known_value():
    """relu(x) for x ~ U(−.5, .5): mean 1/8, mean square 1/24, S = 1 − 24/64 = 0.625 (× m/(m−1)).
    Units: 0.625, 0 (constant), 1 (dead), 0.625 → 100 × 2.25/4 = 56.25 %."""
    model, encoder = sparse_network(), identity_encoder(2)
    m = 4000
    value = network_sparsity(model, encoder, TASK, 1, m, generator=generator("test-sparse", 0))
    assert value == pytest.approx(100 * (2 * 0.625 * m / (m - 1) + 1) / 4, abs=0.6)
    # the decision step (index −1) has no input: every unit is silent, so S = 1 everywhere
    last = network_sparsity(
        model, encoder, TASK, 1, m, generator=generator("test-sparse", 0), time_index=-1
    )
    assert last == pytest.approx(100.0)

    # exactly the mean sparseness of the trajectories at index −2 for the same stimuli
    x = torch.rand((50, 2), generator=generator("test-sparse", 1)) - 0.5
    states, _ = noise_free_trajectories(model, encoder, TASK, 1, x)
    direct = float(lifetime_sparseness(states[:, -2]).mean() * 100)
    again = network_sparsity(model, encoder, TASK, 1, 50, generator=generator("test-sparse", 1))
    assert again == pytest.approx(direct, abs=1e-9)


def test_network_sparsity_of_an_lstm_is_bounded():
    """Signed LSTM states: raw values give S in [0, m/(m−1)]; the three conventions differ."""
    model = LSTM.from_members([LSTM.init_member(41, 16, generator("test-lstm", s)) for s in (0, 1)])
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in (0, 1)])
    values = {
        neg: network_sparsity(
            model, encoder, TASK, 0, 200, generator=generator("test-lstm-x", 0), negative=neg
        )
        for neg in ("raw", "abs", "rectify")
    }
    assert all(0.0 <= v <= 100 * 200 / 199 for v in values.values())
    assert len({round(v, 6) for v in values.values()}) == 3
