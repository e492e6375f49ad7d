"""One training step of every architecture, task variant and generative method on the ``meta``
device: tensors with shapes and dtypes but no data. A step that runs there has every shape right
and uses no op that exists only on the CPU (a CPU-only kernel, or a tensor the code built on the
CPU and mixed with the model's, raises here as it would on a GPU), without a GPU and in
milliseconds. The numbers are not computed; the CPU tests check those.
"""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_experiment
from disentangle.data.ingredients import make_ingredients
from disentangle.generative import build_model
from disentangle.generative import infogan as infogan_module
from disentangle.generative import vae as vae_module
from disentangle.generative.train import apply_gradients
from disentangle.seeding import generator
from disentangle.training import (
    adam_implementation,
    build_ensemble,
    make_adam,
    member_losses,
    training_block,
)

META = torch.device("meta")
ARCHITECTURES = ("leaky_rnn", "nonleaky_rnn", "lstm", "gru", "gpt2")
TASKS = {
    "bce": {},
    "mse": {"loss": "mse"},
    "ddm": {"loss": "ddm", "fixation_steps": 0, "decision_steps": 0},
}
METHODS = ("vae", "beta_vae", "annealed_vae", "beta_tcvae", "factor_vae", "infogan", "ivae")


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_ensemble_training_step_on_meta(arch, task):
    exp = tiny_experiment(architecture=arch, seeds=[0], task=TASKS[task])
    ingredients = make_ingredients(exp, 64, 64, 0)
    model, readout, encoder, boundaries = build_ensemble(exp, ingredients)
    model.to(META).train()
    readout.to(META)
    encoder, boundaries = encoder.to(META), boundaries.to(META)
    params = list(model.parameters()) + list(readout.parameters())
    assert adam_implementation(params) == "for-loop"  # no fused or foreach kernel on meta
    opt = make_adam(params, 1e-3)
    u, target, y = training_block(exp, encoder, boundaries, 0, META)
    b = exp.training.batch_size
    k, n_max = len(exp.members()), max(exp.n_tasks)
    assert u.device == META and u.shape == (k, 50 * b, exp.task.n_steps, exp.task.input_size)
    assert target.shape == (k, 50 * b, exp.task.n_steps, n_max) and y.shape == (k, 50 * b, n_max)
    model.rng_step = 0
    logits = readout(model(u[:, :b]))
    losses = member_losses(exp.task, logits, target[:, :b], readout.mask)
    assert losses.shape == (k,) and losses.device == META
    opt.zero_grad(set_to_none=True)
    losses.sum().backward()
    opt.step()
    assert all(p.grad is not None and p.grad.device == META for p in params)


@pytest.mark.parametrize("method", METHODS)
def test_generative_training_step_on_meta(monkeypatch, method):
    """The loss logs are floats (one host sync per logged number, by design): on meta there are
    no numbers, so ``scalar`` gives 0 here."""
    for module in (vae_module, infogan_module):
        monkeypatch.setattr(module, "scalar", lambda t: 0.0)
    shape, n_aux = ((6,), 3) if method == "ivae" else ((1, 64, 64), 0)
    spec = {"method": method, "seed": 0}
    model = build_model(spec, shape, n_aux).to(META).train()
    settings, groups = model.optimizer_settings(), model.parameter_groups()
    optimizers = {name: make_adam(groups[name], **settings[name]) for name in settings}
    x = torch.empty((4, *shape), device=META)
    u = torch.empty((4, n_aux), device=META) if n_aux else None
    losses, logs = model.losses(x, u, 0, generator("generative-noise", 0, 0))
    assert set(losses) == set(optimizers) and all(v.device == META for v in losses.values())
    apply_gradients(model, losses, optimizers)
    codes = model.represent(x, u)
    assert codes.device == META and codes.shape[0] == 4
