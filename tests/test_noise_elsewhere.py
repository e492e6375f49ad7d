"""The two noise kinds that put no noise on x*: ``input`` (after the encoder, on every input
channel) and ``units`` (in the ReLU RNN's units). Their noise is hashed from the trial's x*
(``seeding.hashed_normal``), so it must be standard normal, independent between channels and
trials, and the same in every chunking and ensemble layout."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle.experiment import ExperimentSpec
from disentangle.metrics.baselines import integrated_features, raw_features
from disentangle.metrics.decoders import member_inputs
from disentangle.models import GRU, LeakyRNN, NonLeakyRNN
from disentangle.seeding import generator, hash_rows, hashed_normal
from disentangle.tasks.encoder import MixingEncoder, init_encoder_member
from disentangle.tasks.evidence import build_inputs, sample_trials, trial_keys
from disentangle.tasks.spec import TaskSpec


def encoders(k: int) -> MixingEncoder:
    return MixingEncoder.from_members([init_encoder_member(2, s) for s in range(k)], "relu")


def test_hashed_normal_is_standard_normal_and_independent():
    keys = hash_rows(torch.rand((200_000, 2), generator=generator("keys", 0)) - 0.5, salt=7)
    z = hashed_normal(keys, 8).double()
    assert abs(float(z.mean())) < 0.005
    assert float(z.std()) == pytest.approx(1.0, abs=0.005)
    assert float((z**4).mean()) == pytest.approx(3.0, abs=0.05)  # Gaussian kurtosis
    tail = float((z.abs() > 3).double().mean())
    assert tail == pytest.approx(math.erfc(3 / math.sqrt(2)), rel=0.1)
    corr = torch.corrcoef(z.T)  # between indices of one key
    assert (corr - torch.eye(8, dtype=corr.dtype)).abs().max() < 0.01
    lag = torch.corrcoef(torch.stack([z[:-1, 0], z[1:, 0]]))[0, 1]  # between consecutive keys
    assert abs(float(lag)) < 0.01


def test_hashed_normal_is_a_pure_function_of_the_key():
    keys = torch.tensor([5, 17, 5, 2**24 - 1])
    z = hashed_normal(keys, 30)
    assert torch.equal(z[0], z[2]) and not torch.equal(z[0], z[1])
    assert torch.equal(hashed_normal(keys[1:2], 30), z[1:2])  # alone or in a batch
    # element j depends on (key, j) only, not on how many are drawn (a trial's noise is the same
    # whatever the trial length or channel count of the job that regenerates it)
    assert torch.equal(hashed_normal(keys, 30)[..., :10], hashed_normal(keys, 10))
    assert torch.isfinite(z).all()


def test_sample_noise_is_zero_and_draws_nothing_for_the_other_kinds():
    for kind in ("input", "units"):
        g = generator("other-noise", 0)
        x, noise = sample_trials(TaskSpec(noise=kind), g, (4,))
        assert torch.equal(noise, torch.zeros((4, 20, 2)))
        # the latents are the Gaussian kind's: the stream was only used for x*
        x_ref, _ = sample_trials(TaskSpec(), generator("other-noise", 0), (4,))
        assert torch.equal(x, x_ref)


def test_input_noise_is_on_every_channel_and_step_with_sd_half_sigma():
    spec, clean_spec = TaskSpec(noise="input"), TaskSpec(noise="gaussian", noise_sd=0.0)
    enc = encoders(2)
    x, noise = sample_trials(spec, generator("input-noise", 0), (2, 4000))
    u = build_inputs(spec, enc, x, noise)
    clean = build_inputs(clean_spec, enc, x, noise)
    assert u.shape == clean.shape == (2, 4000, 22, 41)
    diff = (u - clean).double()
    sd = diff.std(dim=(0, 1))  # (T, C): every step and channel, the cue's too
    assert torch.allclose(sd, torch.full_like(sd, 0.1), rtol=0.06)
    assert abs(float(diff.mean())) < 0.001
    # independent between steps and channels of a trial
    flat = diff[0].reshape(4000, -1)[:, :50]
    corr = torch.corrcoef(flat.T) - torch.eye(50, dtype=flat.dtype)
    assert corr.abs().max() < 0.07


def test_hashed_noise_is_the_same_in_every_chunking():
    """The evaluation's inputs come in chunks of trials (``member_inputs``): the noise of a
    trial must not depend on the chunk it falls in."""
    for kind in ("input", "units"):
        spec = TaskSpec(noise=kind)
        x, noise = sample_trials(spec, generator("chunks", 1), (300,))
        enc = encoders(3)
        one = torch.cat(list(member_inputs(enc, spec, x, noise, "cpu", chunk=300)), dim=1)
        many = torch.cat(list(member_inputs(enc, spec, x, noise, "cpu", chunk=7)), dim=1)
        assert torch.equal(one, many)
        assert one.shape[-1] == 41 + spec.noise_channels


def test_integrator_averages_the_input_noise():
    spec = TaskSpec(noise="input")
    enc = encoders(1)
    x, noise = sample_trials(spec, generator("integrator", 0), (5000,))
    plain = integrated_features(enc, x, noise, 1)
    noisy = integrated_features(enc, x, noise, 1, task=spec)
    assert torch.allclose(plain, raw_features(enc, x, 1), atol=1e-5)  # no noise on x*
    # the mean of 20 stimulus steps of N(0, 0.1²): sd 0.1/√20, and the same as the inputs' own
    sd = float((noisy - plain).std())
    assert sd == pytest.approx(0.1 / math.sqrt(20), rel=0.03)
    u = build_inputs(spec, enc, x.unsqueeze(0), noise.unsqueeze(0))
    assert torch.allclose(noisy, u[:, :, spec.stimulus_slice, 1:].mean(dim=2), atol=1e-5)


def reference_noisy_rnn(w_in, w_rec, bias, u, noise, leak):
    """r_t = ReLU(W_in u_t + b + W_rec r_{t−1} + noise_t) (leak: r_t = r_{t−1} + ReLU(...))."""
    r = torch.zeros(u.shape[0], w_rec.shape[0], dtype=u.dtype)
    out = []
    for step in range(u.shape[1]):
        h = torch.relu(u[:, step] @ w_in + r @ w_rec + bias + noise[:, step])
        r = r + h if leak else h
        out.append(r)
    return torch.stack(out, dim=1)


@pytest.mark.parametrize("cls", [LeakyRNN, NonLeakyRNN])
def test_units_noise_enters_the_pre_activation(cls):
    spec = TaskSpec(noise="units")
    members = [cls.init_member(41, 64, generator("init", s)) for s in range(2)]
    model = cls.from_members(members).double()
    x, noise = sample_trials(spec, generator("units", 0), (2, 6))
    u32 = build_inputs(spec, encoders(2), x, noise)
    assert u32.shape == (2, 6, 22, 43)
    assert torch.equal(u32[..., 41], torch.full_like(u32[..., 41], 0.1))
    keys = trial_keys(spec, x)
    assert torch.equal(u32[..., 0, 42].long(), keys)  # the key is exact in float32
    u = u32.double()
    out = model(u)
    for k in range(2):
        sd = u[k, :, 0, 41, None, None]  # 0.1 in float32, as the model reads it
        xi = sd * hashed_normal(keys[k], 22 * 64).view(6, 22, 64).double()
        p = {n: t.detach()[k] for n, t in model.named_parameters()}
        ref = reference_noisy_rnn(p["w_in"], p["w_rec"], p["bias"], u[k, ..., :41], xi,
                                  leak=cls is NonLeakyRNN)  # fmt: skip
        assert torch.allclose(out[k], ref, atol=1e-10)
    assert not torch.allclose(out, model(u[..., :41]))  # the noise changed the states
    silent = u.clone()
    silent[..., 41] = 0.0  # sd 0: the noise-free network
    assert torch.allclose(model(silent), model(u[..., :41]), atol=1e-12)


def test_units_noise_is_refused_where_units_cannot_take_it():
    with pytest.raises(ValueError, match="task.noise = 'units' needs a ReLU RNN"):
        ExperimentSpec.from_dict("x", {"architecture": "gpt2", "task": {"noise": "units"}})
    gru = GRU.from_members([GRU.init_member(41, 64, generator("gru", 0))])
    with pytest.raises(ValueError, match="43 channels, expected 41"):
        gru(torch.zeros(1, 2, 22, 43))
    with pytest.raises(ValueError, match="task.noise = 'input' with task.loss = 'ddm'"):
        TaskSpec(noise="input", loss="ddm", fixation_steps=0, decision_steps=0)
    assert TaskSpec(noise="units").to_dict()["noise"] == "units"


def test_units_noise_of_shared_trials_is_drawn_once_with_the_same_result():
    """In evaluation every member runs the same trials (the same keys): the RNN draws their noise
    once; the states equal those of the per-member draw that training uses."""
    spec = TaskSpec(noise="units")
    model = LeakyRNN.from_members(
        [LeakyRNN.init_member(41, 64, generator("i", s)) for s in range(3)]
    )
    x, noise = sample_trials(spec, generator("shared", 0), (7,))
    u = build_inputs(spec, encoders(3), x.expand(3, -1, -1), noise.expand(3, -1, -1, -1))
    with torch.no_grad():
        shared = model(u)
    per_member = model(u).detach()  # grad enabled: the per-member path
    assert torch.equal(shared, per_member)


def test_noise_free_trajectories_carry_no_input_or_units_noise():
    from disentangle.analysis.dynamics import noise_free_trajectories

    model = LeakyRNN.from_members([LeakyRNN.init_member(41, 64, generator("i", 0))])
    x = torch.rand((5, 2), generator=generator("nf", 0)) - 0.5
    runs = [
        noise_free_trajectories(model, encoders(1), TaskSpec(noise=kind), 0, x)[0]
        for kind in ("gaussian", "input", "units")
    ]
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])
