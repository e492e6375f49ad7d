"""Theorem 3.1 part 1 on trained networks (disentangle.analysis.trained_outputs)."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import tiny_experiment
from disentangle.analysis.trained_outputs import (
    bayes_outputs,
    closed_form_mean,
    probit_of_logits,
    trained_output_rows,
)
from disentangle.data.ingredients import load_ingredients, write_ingredients
from disentangle.tasks.evidence import boundary_normals
from disentangle.training import load_trained, train_ensemble


def test_closed_form_inverts_the_bayes_outputs():
    """μ = (CᵀC)⁻¹Cᵀ(σ/√t)Φ⁻¹(Φ(√t·Cm/σ)) = m for N ≥ D (outputs not saturated), and the Bayes
    output of a task is 1/2 on its boundary and Φ(√t·d/σ) at signed distance d from it."""
    g = torch.Generator().manual_seed(0)
    c = boundary_normals(6, 2, "even", 0)
    m = (torch.rand((500, 2), generator=g) - 0.5) * 0.4
    out = bayes_outputs(c, m, 5, 0.2)
    probits = torch.special.ndtri(out)
    assert torch.allclose(closed_form_mean(c, probits, 5, 0.2), m.double(), atol=1e-6)
    # the probit from the logits stays exact where the probability rounds to 1
    logits = torch.tensor([-60.0, -3.0, 0.0, 3.0, 60.0])
    z = probit_of_logits(logits)
    assert torch.isfinite(z).all() and torch.equal(z, -z.flip(0)) and float(z[2]) == 0.0
    assert float(z[3]) == pytest.approx(
        float(torch.special.ndtri(torch.sigmoid(torch.tensor(3.0, dtype=torch.float64))))
    )
    on_line = torch.tensor([[-float(c[0, 1]), float(c[0, 0])]]) * 0.3  # orthogonal to c_0
    assert float(bayes_outputs(c[:1], on_line, 5, 0.2)[0, 0]) == pytest.approx(0.5, abs=1e-6)
    d = 0.05
    assert float(bayes_outputs(c[:1], c[:1] * d, 4, 0.2)[0, 0]) == pytest.approx(
        0.5 * (1 + math.erf(math.sqrt(4) * d / 0.2 / math.sqrt(2))), abs=1e-6
    )


def test_rows_of_a_trained_tiny_ensemble(tmp_path):
    """Every network and duration gets its four metrics; the closed form on the Bayes outputs is
    exact (N ≥ D), the trained outputs' r² is at most 1 and their KL is non-negative."""
    training = {"n_batches": 60, "batch_size": 8, "checkpoint_every": 100, "log_every": 20}
    exp = tiny_experiment(training=training)
    ing, model_path = tmp_path / "ing.pt", tmp_path / "model.pt"
    write_ingredients(exp, str(ing), n_train=256, n_test=128, eval_seed=0)
    train_ensemble(exp, str(ing), str(model_path), str(tmp_path / "c.pt"), device="cpu",
                   log=lambda *a, **k: None)  # fmt: skip
    spec, model, readout, encoder, obj = load_trained(str(model_path))
    ingredients = load_ingredients(str(ing))
    ev = ingredients["evaluation"]
    members = [tuple(m) for m in obj["members"]]
    rows = trained_output_rows(
        model, readout, encoder, spec.task, members, ingredients["boundaries"],
        ev["x_test"], ev["noise_test"], [2, spec.task.stimulus_steps],
    )  # fmt: skip
    assert len(rows) == len(members) * 2 * 4
    by = {(r["n_tasks"], r["seed"], r["steps"], r["metric"]): r["value"] for r in rows}
    for (_, _, _, metric), value in by.items():
        if metric == "mu_r2_bayes":
            assert value > 0.999
        elif metric == "output_kl":
            assert value >= 0
        else:
            assert value <= 1
    with pytest.raises(ValueError, match="1..20"):
        trained_output_rows(model, readout, encoder, spec.task, members,
                            ingredients["boundaries"], ev["x_test"], ev["noise_test"],
                            [21])  # fmt: skip
