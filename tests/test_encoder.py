"""The mixing encoder f: architecture, initialisation, seeding and freezing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from disentangle.tasks import MixingEncoder, init_encoder_member


def reference_mlp(params: dict, activation: str = "relu") -> nn.Sequential:
    """f as the authors build it: nn.Linear layers with the same weights."""
    layers = []
    act = nn.ReLU() if activation == "relu" else None
    for i in range(3):
        w, b = params[f"w{i}"], params[f"b{i}"]
        lin = nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(w.T)
            lin.bias.copy_(b)
        layers.append(lin)
        if i < 2:
            layers.append(act if act is not None else Square())
    return nn.Sequential(*layers)


class Square(nn.Module):
    def forward(self, x):
        return x * x


def test_shapes_and_default_linear_init():
    p = init_encoder_member(2, seed=0)
    shapes = {k: tuple(v.shape) for k, v in p.items()}
    assert shapes == {
        "w0": (2, 100),
        "b0": (100,),
        "w1": (100, 100),
        "b1": (100,),
        "w2": (100, 40),
        "b2": (40,),
    }
    for i, fan_in in enumerate((2, 100, 100)):
        bound = fan_in**-0.5
        for name in (f"w{i}", f"b{i}"):
            assert p[name].abs().max() <= bound
        # U(-b, b) has variance b²/3
        w = p[f"w{i}"]
        assert abs(float(w.var()) - bound**2 / 3) < 0.35 * bound**2 / 3


def test_seeded_per_network():
    a, b = init_encoder_member(2, 0), init_encoder_member(2, 0)
    c = init_encoder_member(2, 1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["w0"], c["w0"])


def test_ensemble_matches_per_member_reference():
    members = [init_encoder_member(2, s) for s in range(3)]
    x = torch.randn(3, 7, 5, 2)
    for activation in ("relu", "quadratic"):
        out = MixingEncoder.from_members(members, activation)(x)
        assert out.shape == (3, 7, 5, 40)
        for k in range(3):
            ref = reference_mlp(members[k], activation)(x[k])
            assert torch.allclose(out[k], ref, atol=1e-5, rtol=1e-5)


def test_encoder_is_frozen():
    enc = MixingEncoder.from_members([init_encoder_member(2, 0)])
    x = torch.randn(1, 4, 2, requires_grad=True)
    y = enc(x)
    assert not y.requires_grad  # evaluated without autograd: no gradient can reach f
    assert not any(p.requires_grad for p in enc.params.values())


def test_cache_tiling_does_not_change_a_bit():
    """The CPU pass tiles members by thread count and rows by CHUNK_ROWS; every row is computed
    by the same kernels, so the output equals the untiled pass exactly, for any thread count."""
    import disentangle.tasks.encoder as encoder_module

    enc = MixingEncoder.from_members([init_encoder_member(2, s) for s in range(5)])
    x = torch.rand(5, 1000, 2) - 0.5
    untiled = enc._layers(x, enc.params)
    threads, chunk = torch.get_num_threads(), encoder_module.CHUNK_ROWS
    try:
        for n_threads, rows in ((1, 300), (2, 1600), (3, 7)):
            torch.set_num_threads(n_threads)
            encoder_module.CHUNK_ROWS = rows
            assert torch.equal(enc(x), untiled), (n_threads, rows)
    finally:
        torch.set_num_threads(threads)
        encoder_module.CHUNK_ROWS = chunk


def test_fourier_encoder_is_random_fourier_features():
    """task.encoder = fourier: f_k(x) = cos(ω g_k·x + φ_k), 40 outputs, g and φ from the network's
    encoder stream, ω folded into the weights; the same seed gives the same map, ω scales g."""
    import math

    x = torch.rand((7, 2)) - 0.5
    p = init_encoder_member(2, 3, "fourier", 4.0)
    assert set(p) == {"w0", "b0"} and p["w0"].shape == (2, 40) and p["b0"].shape == (40,)
    assert bool(((p["b0"] >= 0) & (p["b0"] < 2 * math.pi)).all())
    enc = MixingEncoder.from_members([p], "fourier")
    assert enc.out_features == 40 and enc.n_layers == 1
    assert torch.allclose(enc(x[None])[0], torch.cos(x @ p["w0"] + p["b0"]), atol=1e-6)
    q = init_encoder_member(2, 3, "fourier", 8.0)
    assert torch.allclose(q["w0"], 2 * p["w0"]) and torch.equal(q["b0"], p["b0"])
    assert not torch.equal(init_encoder_member(2, 4, "fourier", 4.0)["w0"], p["w0"])
    with pytest.raises(ValueError, match="frequency"):
        init_encoder_member(2, 3, "fourier", 0.0)


def test_task_frequency_belongs_to_the_fourier_encoder_only():
    """A frequency on another encoder, or a fourier encoder without one, is rejected naming the
    key; other encoders' specs leave it out (their digests and columns are unchanged)."""
    from disentangle.tasks.spec import TaskSpec

    assert "frequency" not in TaskSpec().to_dict()
    assert TaskSpec(encoder="fourier", frequency=2.0).to_dict()["frequency"] == 2.0
    with pytest.raises(ValueError, match="task.frequency"):
        TaskSpec(frequency=2.0)
    with pytest.raises(ValueError, match="task.frequency"):
        TaskSpec(encoder="fourier")
    with pytest.raises(ValueError, match="task.encoder"):
        TaskSpec(encoder="tanh")


def test_training_specs_of_other_encoders_do_not_carry_the_frequency():
    """The resolved config gives every experiment task.frequency (defaults: 0); the spec a job's
    params hold leaves that 0 out for the non-fourier encoders, so adding the key reran nothing,
    and keeps it for the fourier ones; a frequency on a ReLU encoder is still an error."""
    import yaml

    from conftest import REPO
    from disentangle.config import experiment_spec, load_and_check, training_spec_json

    schema = REPO / "workflow/schemas/config.schema.yaml"
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    resolved = load_and_check(cfg, schema)
    assert "frequency" not in training_spec_json(resolved, "rnn_main")["task"]
    assert training_spec_json(resolved, "beyond_encoder_rnn-frequency8")["task"]["frequency"] == 8
    assert experiment_spec(resolved, "beyond_encoder_rnn-frequency8").task.frequency == 8
    cfg["experiments"]["rnn_main"]["task"] = {"frequency": 3.0}
    with pytest.raises(Exception, match="frequency"):
        experiment_spec(load_and_check(cfg, schema), "rnn_main")
