"""The OOD regression metric on representations with known answers."""

from __future__ import annotations

import pytest
import torch

from disentangle.data.ingredients import load_ingredients
from disentangle.metrics.ood import (
    VAR_U,
    decoder_budget,
    fit_adam,
    fit_ridge,
    information_ceiling,
    ood_by_decoder,
    ood_generalisation,
    r2_paper,
)
from disentangle.seeding import generator
from disentangle.tasks.evidence import fold_masks
from disentangle.training import build_ensemble

ADAM = {"n_batches": 3000, "lr": 3e-3, "batch_size": 16}


def latents(n, seed=0):
    return torch.rand((n, 2), generator=generator("test-x", seed)) - 0.5


def plan(x_train):
    names, regions = fold_masks(x_train)
    return torch.cat([~regions, torch.ones_like(regions[:1])])


def evaluate(states_tr, x_tr, states_te, x_te, decoder, n_fits=2):
    """OOD r² per fold (4, n_fits) and ID r² per region (4, n_fits) for one network."""
    masks = plan(x_tr)
    if decoder == "adam":
        w, b = fit_adam(
            states_tr[None],
            x_tr,
            masks,
            n_fits,
            ADAM["n_batches"],
            ADAM["lr"],
            ADAM["batch_size"],
            [generator("test-dec", 0)],
        )
    else:
        w, b = fit_ridge(states_tr[None], x_tr, masks, n_fits, penalty=1e-6)
    _, regions = fold_masks(x_te)
    pred = torch.einsum("nh,mjhd->mjnd", states_te, w[0]) + b[0][:, :, None]
    ood = torch.stack([r2_paper(pred[q][:, regions[q]], x_te[regions[q]]) for q in range(4)])
    idd = torch.stack([r2_paper(pred[4][:, regions[q]], x_te[regions[q]]) for q in range(4)])
    return ood, idd


def test_r2_definition():
    x = latents(20000)
    assert float(r2_paper(x, x)) == 1.0
    # predicting the global mean: mse = Var_U, so r² ≈ 0 (not sklearn's R²: the baseline is 1/12)
    assert abs(float(r2_paper(torch.zeros_like(x), x))) < 0.02
    noise = torch.randn_like(x) * 0.1
    assert abs(float(r2_paper(x + noise, x)) - (1 - 0.01 / VAR_U)) < 0.01
    # a pure-noise prediction is worse than predicting the mean
    assert float(r2_paper(latents(20000, seed=1), x)) < -0.9


def test_information_ceiling():
    assert information_ceiling(0.2, 20) == pytest.approx(0.976)
    assert information_ceiling(0.2, 21) == pytest.approx(1 - 0.48 / 21)
    assert information_ceiling(0.6, 20) == pytest.approx(0.784)


def test_paper_decoder_budget():
    assert [decoder_budget(n, "paper") for n in (2, 3, 6, 12, 24)] == [3000, 3000, 2000, 1000, 1000]
    assert decoder_budget(9, "paper") == 2000 and decoder_budget(48, "paper") == 1000
    assert decoder_budget(1, "paper") == 3000 and decoder_budget(24, 500) == 500


@pytest.mark.parametrize("decoder", ["adam", "ridge"])
def test_linear_code_generalises(decoder):
    """A noiseless linear embedding of x* in 64 dimensions: OOD and ID r² ≈ 1."""
    x_tr, x_te = latents(4096, 0), latents(1024, 1)
    mix = torch.randn((2, 64), generator=generator("test-mix", 0)) * 0.5
    offset = torch.randn(64, generator=generator("test-mix", 1))
    ood, idd = evaluate(x_tr @ mix + offset, x_tr, x_te @ mix + offset, x_te, decoder)
    assert ood.min() > 0.99 and idd.min() > 0.99


@pytest.mark.parametrize("decoder", ["adam", "ridge"])
def test_pure_noise_code_does_not(decoder):
    x_tr, x_te = latents(4096, 0), latents(1024, 1)
    s_tr = torch.randn((4096, 64), generator=generator("test-noise", 0))
    s_te = torch.randn((1024, 64), generator=generator("test-noise", 1))
    ood, idd = evaluate(s_tr, x_tr, s_te, x_te, decoder)
    assert ood.max() < 0.0 and idd.abs().max() < 0.15  # ≈ 0: no better than the mean


@pytest.mark.parametrize("decoder", ["adam", "ridge"])
def test_quadrant_specific_code_fails_only_out_of_distribution(decoder):
    """x* written into a separate block of units per quadrant: linearly decodable within the
    training quadrants (ID ≈ 1) but the held-out quadrant's block was never seen (OOD ≪ ID)."""

    def code(x):
        _, regions = fold_masks(x)
        blocks = [
            regions[q].float()[:, None] * torch.cat([x, torch.ones(len(x), 1)], dim=1)
            for q in range(4)
        ]
        return torch.cat(blocks, dim=1)

    x_tr, x_te = latents(4096, 0), latents(1024, 1)
    ood, idd = evaluate(code(x_tr), x_tr, code(x_te), x_te, decoder)
    assert idd.min() > 0.99
    assert ood.mean() < 0.3  # the unseen block keeps its initial (random or zero) weights


def test_rank_deficient_relu_states():
    """Dead ReLU units make the state matrix rank deficient; the decoder must still find the fit
    (torch.linalg.lstsq's default CPU driver returns garbage here; docs/replication.md,
    "Numerical pitfalls")."""
    x = latents(3000)
    mix = torch.randn((2, 64), generator=generator("test-relu", 0))
    states = torch.relu(x @ mix)
    states[:, :20] = 0.0  # dead units
    states[:, 20:30] = states[:, 30:40]  # duplicated units
    masks = torch.ones((1, 3000), dtype=torch.bool)
    for penalty in (0.0, 1e-6):
        w, b = fit_ridge(states[None], x, masks, 1, penalty)
        pred = states @ w[0, 0, 0] + b[0, 0, 0]
        assert float(r2_paper(pred, x)) > 0.95, penalty


def test_second_decoder_reads_the_same_states(tiny):
    """The workflow fits the configured decoder and the closed-form ridge decoder to the same
    final states in one pass: each table equals the one that decoder alone would give, so the
    reference decoder cannot disturb the configured one's numbers."""
    exp, path = tiny
    ingredients = load_ingredients(str(path))
    model, _, encoder, _ = build_ensemble(exp, ingredients)
    members = [tuple(m) for m in ingredients["members"]]
    evaluation = ingredients["evaluation"]
    settings = {
        "decoder": "adam",
        "n_fits": 2,
        "adam": {"n_batches": 40, "lr": 3e-3, "batch_size": 16},
        "ridge": {"penalty": 1e-6},
    }
    both = ood_by_decoder(
        model, encoder, exp.task, members, evaluation, settings, ["adam", "ridge", "adam"]
    )
    assert list(both) == ["adam", "ridge"]
    alone = ood_generalisation(model, encoder, exp.task, members, evaluation, settings)
    assert both["adam"] == alone
    ridge_settings = {**settings, "decoder": "ridge"}
    assert both["ridge"] == ood_generalisation(
        model, encoder, exp.task, members, evaluation, ridge_settings
    )
    # 4 networks × 4 quadrants × 2 fits × {ood, id}, and the two decoders really differ
    assert len(both["ridge"]) == len(alone) == 4 * 4 * 2 * 2
    assert [r["value"] for r in both["ridge"]] != [r["value"] for r in alone]
    with pytest.raises(ValueError, match="'lasso'"):
        ood_by_decoder(model, encoder, exp.task, members, evaluation, settings, ["lasso"])


def reference_adam(states, x, masks, n_fits, n_batches, lr, batch_size, g):
    """One network, the obvious way: nn.Linear-style init, autograd and torch.optim.Adam, the
    same draws from ``g`` as ``fit_adam`` (every fit's weights and biases, then the minibatches)."""
    from disentangle.seeding import uniform

    n, h = states.shape
    d = x.shape[1]
    f = masks.shape[0] * n_fits
    bound = h**-0.5
    w = torch.stack([uniform((d, h), bound, g).T for _ in range(f)]).requires_grad_()
    b = torch.stack([uniform((d,), bound, g) for _ in range(f)])[:, None].requires_grad_()
    u = torch.rand((n_batches, f, batch_size), generator=g)
    tables = [torch.nonzero(masks[i]).squeeze(1) for i in range(masks.shape[0])]
    opt = torch.optim.Adam([w, b], lr=lr)
    for step in range(n_batches):
        idx = torch.stack(
            [
                tables[j // n_fits][(u[step, j] * tables[j // n_fits].numel()).long()]
                for j in range(f)
            ]
        )
        loss = ((torch.baddbmm(b, states[idx], w) - x[idx]) ** 2).mean(dim=(1, 2)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    m = masks.shape[0]
    return w.detach().reshape(m, n_fits, h, d), b.detach().reshape(m, n_fits, d)


def test_fit_adam_is_adam_on_the_mse():
    """The written-out gradient and update equal autograd + torch.optim.Adam on the same draws."""
    x = latents(600)
    states = torch.cat([x @ torch.randn(2, 6, generator=generator("t", 1)), torch.ones(600, 1)], 1)
    states = states + 0.05 * torch.randn(states.shape, generator=generator("t", 2))
    masks = plan(x)
    w, b = fit_adam(states[None], x, masks, 2, 150, 3e-3, 16, [generator("test-dec", 3)])
    w_ref, b_ref = reference_adam(states, x, masks, 2, 150, 3e-3, 16, generator("test-dec", 3))
    assert torch.allclose(w[0], w_ref, atol=1e-5) and torch.allclose(b[0], b_ref, atol=1e-5)


def test_fit_adam_budgets_per_network_equal_separate_fits():
    """Networks with different budgets in one call end where each ends alone."""
    x = latents(500)
    masks = plan(x)
    states = torch.randn((3, 500, 5), generator=generator("t", 4)) + x.repeat(1, 3)[:, :5][None]
    budgets = [40, 120, 80]
    streams = [generator("test-dec", i) for i in range(3)]
    w, b = fit_adam(states, x, masks, 2, budgets, 3e-3, 8, streams)
    for i, budget in enumerate(budgets):
        wi, bi = fit_adam(
            states[i : i + 1], x, masks, 2, budget, 3e-3, 8, [generator("test-dec", i)]
        )
        assert torch.allclose(w[i], wi[0], atol=1e-6) and torch.allclose(b[i], bi[0], atol=1e-6)
    with pytest.raises(ValueError, match="2 budgets for 3 networks"):
        fit_adam(states, x, masks, 2, [1, 2], 3e-3, 8, streams)


def test_final_states_encode_once_per_distinct_encoder(tiny, monkeypatch):
    """Members of one seed share their encoder: ``MixingEncoder.distinct`` finds the two of the
    tiny experiment's four networks, and the states from the shared encoding equal, bit for bit,
    those from encoding the evidence for every member (``distinct`` disabled)."""
    from disentangle.metrics.decoders import final_states
    from disentangle.tasks.encoder import MixingEncoder

    exp, path = tiny
    ingredients = load_ingredients(str(path))
    model, _, encoder, _ = build_ensemble(exp, ingredients)
    members = [tuple(m) for m in ingredients["members"]]
    unique, index = encoder.distinct()
    seeds = [s for _, s in members]
    assert unique.n_members == len(set(seeds)) == 2 and encoder.n_members == 4
    assert [seeds[int(i)] for i in index] == seeds  # each member gathers its own seed's encoder
    ev = ingredients["evaluation"]
    shared = final_states(model, encoder, exp.task, ev["x_test"], ev["noise_test"], chunk=100)
    monkeypatch.setattr(MixingEncoder, "distinct", lambda self: (self, None))
    every = final_states(model, encoder, exp.task, ev["x_test"], ev["noise_test"], chunk=100)
    assert torch.equal(shared, every)
