"""The ensemble leaky RNN against a plain per-network implementation of the paper's Eq. 5."""

from __future__ import annotations

import pytest
import torch

from disentangle.models import ARCHITECTURES, LeakyRNN, Readout, architecture
from disentangle.models.recurrent import RecurrentEnsemble
from disentangle.seeding import generator


def reference_rnn(w_in, w_rec, bias, u, alpha):
    """r_t = (1 − α) r_{t−1} + α ReLU(W_in u_t + W_rec r_{t−1} + b), r_0 = 0, one network."""
    b, t, _ = u.shape
    r = torch.zeros(b, w_rec.shape[0])
    out = []
    for step in range(t):
        h = u[:, step] @ w_in + r @ w_rec + bias
        r = (1 - alpha) * r + alpha * torch.relu(h)
        out.append(r)
    return torch.stack(out, dim=1)


def test_ensemble_forward_matches_reference():
    members = [LeakyRNN.init_member(41, 64, generator("t", s)) for s in range(3)]
    u = torch.randn(3, 5, 22, 41)
    for alpha in (1.0, 0.2):
        model = LeakyRNN.from_members(members)
        model.alpha = alpha
        out = model(u)
        assert out.shape == (3, 5, 22, 64)
        for k in range(3):
            ref = reference_rnn(
                members[k]["w_in"], members[k]["w_rec"], members[k]["bias"], u[k], alpha
            )
            assert torch.allclose(out[k], ref, atol=1e-5)


def units_noise_inputs() -> torch.Tensor:
    """Inputs (3, 5, 22, 43) of the ``units`` noise kind: 41 channels, then its sd and key."""
    from disentangle.tasks.encoder import MixingEncoder, init_encoder_member
    from disentangle.tasks.evidence import build_inputs, sample_trials
    from disentangle.tasks.spec import TaskSpec

    spec = TaskSpec(noise="units")
    encoder = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(3)], "relu")
    x, noise = sample_trials(spec, generator("units-grad", 0), (3, 5))
    return build_inputs(spec, encoder, x, noise).double()


@pytest.mark.parametrize("inputs", ["plain", "units-noise"])
def test_fused_recurrence_gradients_match_autograd(inputs):
    """The hand-written backward through time of ``ReluRecurrence`` (the α = 1 training path) gives
    autograd's gradients for every parameter, in float64 to 1e-10, with a loss on every step; with
    the units noise kind's inputs too (the noise added to the drive)."""
    members = [LeakyRNN.init_member(41, 64, generator("g", s)) for s in range(3)]
    if inputs == "plain":
        u = torch.randn(3, 5, 22, 41, dtype=torch.float64)
    else:
        u = units_noise_inputs()
    weights = torch.randn(3, 5, 22, 64, dtype=torch.float64)
    grads = []
    for fused in (True, False):
        model = LeakyRNN.from_members(members).double()
        out = model(u) if fused else RecurrentEnsemble.forward(model, u)
        (out * weights).sum().backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters()})
        assert out.shape == (3, 5, 22, 64)
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], rtol=1e-10, atol=1e-12), name
    assert grads[0]["w_rec"].abs().max() > 1e-3  # the check is not vacuous


def test_init_is_nn_linear_default():
    m = LeakyRNN.init_member(41, 64, generator("t", 0))
    assert m["w_in"].abs().max() <= 41**-0.5
    assert m["w_rec"].abs().max() <= 64**-0.5
    assert m["bias"].abs().max() <= 41**-0.5 + 64**-0.5  # sum of the two layers' biases


def test_readout_pads_and_masks():
    heads = [Readout.init_member(8, n, generator("t", n)) for n in (2, 5)]
    ro = Readout.from_members(heads)
    assert ro.weight.shape == (2, 8, 5)
    assert torch.equal(ro.mask, torch.tensor([[1.0, 1, 0, 0, 0], [1, 1, 1, 1, 1]]))
    states = torch.randn(2, 3, 4, 8)
    out = ro(states)
    assert torch.allclose(
        out[0, ..., :2], states[0] @ heads[0]["weight"] + heads[0]["bias"], atol=1e-6
    )


def test_registry():
    assert architecture("leaky_rnn") is LeakyRNN
    assert set(ARCHITECTURES) >= {"leaky_rnn"}
    try:
        architecture("transformer9000")
    except ValueError as err:
        assert "leaky_rnn" in str(err)
    else:
        raise AssertionError("unknown architecture accepted")


def test_train_rule_depends_on_each_architectures_own_module():
    """disentangle.registry_names maps every architecture to the file that defines it (so that
    editing one model retrains only its networks: workflow/rules/common.smk); the map must follow
    the registry and the config schema's list."""
    import inspect
    from pathlib import Path

    import yaml

    from disentangle.registry_names import ARCHITECTURE_MODULES as modules

    root = Path(__file__).resolve().parents[1]
    assert set(modules) == set(ARCHITECTURES)
    for name, cls in ARCHITECTURES.items():
        path = Path(inspect.getfile(cls)).resolve()
        assert path == (root / "src/disentangle" / modules[name]).resolve(), name
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())
    enums = []

    def walk(node):
        if isinstance(node, dict):
            if "enum" in node and "gpt2" in node["enum"]:
                enums.append(set(node["enum"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert enums and all(e == set(ARCHITECTURES) for e in enums)
