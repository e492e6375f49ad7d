"""Architectures (dlib's layer sizes), the METHODS registry and each model's interface."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from disentangle.generative import METHODS, SWEEPS, build_model, hyperparameters, split_spec
from disentangle.generative.networks import DeconvDecoder, GaussianEncoder, glorot_init_
from disentangle.generative.train import apply_gradients
from disentangle.generative.vae import Discriminator

IMAGE = (1, 64, 64)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_conv_encoder_decoder_shapes_and_dlib_sizes():
    enc = GaussianEncoder(IMAGE, n_latent=10)
    dec = DeconvDecoder(n_latent=10, n_channels=1)
    sizes = []
    for conv in enc.body.convs:
        conv.register_forward_hook(lambda m, i, o: sizes.append(tuple(o.shape[1:])))
    x = torch.rand(3, *IMAGE, generator=gen(0))
    mean, logvar = enc(x)
    assert mean.shape == (3, 10) and logvar.shape == (3, 10)
    assert sizes == [(32, 32, 32), (32, 16, 16), (64, 8, 8), (64, 4, 4)]
    assert dec(mean).shape == (3, 1, 64, 64)
    enc_shapes = [tuple(c.weight.shape) for c in enc.body.convs]
    assert enc_shapes == [(32, 1, 4, 4), (32, 32, 4, 4), (64, 32, 2, 2), (64, 64, 2, 2)]
    assert [c.stride for c in enc.body.convs] == [(2, 2)] * 4
    assert tuple(enc.body.dense.weight.shape) == (256, 1024)
    assert tuple(enc.mean.weight.shape) == (10, 256) == tuple(enc.logvar.weight.shape)
    assert [tuple(d.weight.shape) for d in dec.dense] == [(256, 10), (1024, 256)]
    dec_shapes = [tuple(d.weight.shape) for d in dec.deconvs]  # (in, out, k, k)
    assert dec_shapes == [(64, 64, 4, 4), (64, 32, 4, 4), (32, 32, 4, 4), (32, 1, 4, 4)]
    n_params = sum(p.numel() for p in [*enc.parameters(), *dec.parameters()])
    # encoder 544+16416+8256+16448+262400+2·2570; decoder 2816+263168+65600+32800+16416+513
    assert n_params == 309_204 + 381_313


def test_glorot_draws_do_not_depend_on_the_memory_layout(monkeypatch):
    """uniform_ fills storage order; the init must give channels-last weights the same values."""
    from disentangle.generative import networks

    fast = glorot_init_(DeconvDecoder(n_latent=10), gen(5))
    monkeypatch.setattr(networks, "CONV_MEMORY_FORMAT", torch.contiguous_format)
    plain = glorot_init_(DeconvDecoder(n_latent=10), gen(5))
    assert plain.deconvs[1].weight.is_contiguous()
    assert fast.deconvs[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert not fast.deconvs[1].weight.is_contiguous()
    for a, b in zip(fast.parameters(), plain.parameters(), strict=True):
        assert torch.equal(a, b)


def test_channels_last_layout_leaves_the_function_unchanged():
    """The conv stacks run channels-last (a speed choice); the maths must be the plain NCHW one:
    the same weights applied with torch.nn.functional on contiguous tensors, in float64, and
    gradients too."""
    import torch.nn.functional as F

    enc = glorot_init_(GaussianEncoder(IMAGE, n_latent=10), gen(1)).double()
    dec = glorot_init_(DeconvDecoder(n_latent=10, n_channels=1), gen(2)).double()
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in enc.body.convs)
    x = torch.rand(4, *IMAGE, generator=gen(3), dtype=torch.float64)

    def plain_encoder(x):
        h = x.contiguous()
        for conv in enc.body.convs:
            w = conv.weight.contiguous()
            h = F.relu(F.conv2d(h, w, conv.bias, conv.stride, conv.padding)).contiguous()
        h = F.relu(F.linear(h.reshape(h.shape[0], -1), enc.body.dense.weight, enc.body.dense.bias))
        return F.linear(h, enc.mean.weight, enc.mean.bias)

    def plain_decoder(z):
        h = z
        for layer in dec.dense:
            h = F.relu(F.linear(h, layer.weight, layer.bias))
        h = h.reshape(-1, 64, 4, 4).contiguous()
        for i, d in enumerate(dec.deconvs):
            h = F.conv_transpose2d(h, d.weight.contiguous(), d.bias, d.stride, d.padding)
            h = (F.relu(h) if i < len(dec.deconvs) - 1 else h).contiguous()
        return h

    mean = enc(x)[0]
    torch.testing.assert_close(mean, plain_encoder(x), rtol=1e-12, atol=1e-12)
    out = dec(mean)
    torch.testing.assert_close(out, plain_decoder(mean), rtol=1e-12, atol=1e-12)
    w = enc.body.convs[1].weight
    grad_fast = torch.autograd.grad(dec(enc(x)[0]).square().sum(), w)[0]
    grad_plain = torch.autograd.grad(plain_decoder(plain_encoder(x)).square().sum(), w)[0]
    torch.testing.assert_close(grad_fast, grad_plain, rtol=1e-10, atol=1e-12)


def test_glorot_init_bounds_and_seeding():
    enc = glorot_init_(GaussianEncoder(IMAGE, 10), gen(0))
    w = enc.body.convs[2].weight.detach()  # fan_in = 32·4, fan_out = 64·4
    bound = math.sqrt(6.0 / (32 * 4 + 64 * 4))
    assert float(w.abs().max()) <= bound
    assert float(w.abs().max()) > 0.95 * bound
    assert float(w.var()) == pytest.approx(bound**2 / 3, rel=0.1)  # U(−b, b) has variance b²/3
    assert all(
        float(m.bias.detach().abs().max()) == 0.0 for m in enc.modules() if isinstance(m, nn.Linear)
    )
    again = glorot_init_(GaussianEncoder(IMAGE, 10), gen(0))
    other = glorot_init_(GaussianEncoder(IMAGE, 10), gen(1))
    assert torch.equal(again.body.convs[2].weight, w)
    assert not torch.equal(other.body.convs[2].weight, w)


def test_factor_vae_discriminator_is_dlibs():
    disc = Discriminator(10)
    linears = [m for m in disc.modules() if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(1000, 10)] + [(1000, 1000)] * 5 + [
        (2, 1000)
    ]
    acts = [m for m in disc.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 6 and all(a.negative_slope == 0.2 for a in acts)
    with torch.no_grad():
        for m in linears:
            m.weight.mul_(1000.0)  # saturate the softmax: probabilities stay clipped
        _, probs = disc(torch.randn(64, 10, generator=gen(0)))
    lo, hi = torch.tensor(1e-6), torch.tensor(1 - 1e-6)  # float32 values of the clip bounds
    assert bool((probs >= lo).all() and (probs <= hi).all())
    assert float(probs.min()) == pytest.approx(1e-6)  # some are clipped


def test_registry_builds_every_method_on_images_and_vectors():
    assert set(METHODS) == {
        "vae",
        "beta_vae",
        "annealed_vae",
        "beta_tcvae",
        "factor_vae",
        "ivae",
        "infogan",
    }
    x_img = torch.rand(4, *IMAGE, generator=gen(1)).round()
    x_vec, u = torch.randn(4, 6, generator=gen(2)), torch.eye(3)[[0, 1, 2, 0]]
    for name in METHODS:
        for shape, x in (((6,), x_vec), (IMAGE, x_img)):
            if name == "ivae" and shape == IMAGE:
                with pytest.raises(ValueError, match="vector data"):
                    build_model({"method": name, "seed": 0}, shape, n_aux=3)
                continue
            model = build_model({"method": name, "seed": 0}, shape, n_aux=3)
            losses, logs = model.losses(x, u, 0, gen(3))
            groups = model.parameter_groups()
            assert set(losses) == set(groups) == set(model.optimizer_settings())
            ids = [id(p) for ps in groups.values() for p in ps]  # disjoint, cover everything
            assert len(ids) == len(set(ids)) == len(list(model.parameters()))
            assert all(math.isfinite(v) for v in logs.values())
            codes = model.represent(x, u)
            assert codes.shape[0] == 4 and torch.isfinite(codes).all()


def test_registry_defaults_and_errors():
    assert hyperparameters("beta_vae")["beta"] == 4.0
    assert hyperparameters("beta_vae")["lr"] == 1e-4 and hyperparameters("vae")["n_latent"] == 10
    assert "beta" not in hyperparameters("vae")
    assert "likelihood" not in hyperparameters("ivae")  # the iVAE's likelihood is fixed
    assert hyperparameters("factor_vae")["gamma"] == 10.0
    assert SWEEPS["beta_vae"]["beta"] == [1, 2, 4, 6, 8, 16]
    assert split_spec({"method": "beta_vae", "beta": 4, "seed": 0}) == ("beta_vae", {"beta": 4}, 0)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['gamma'\]"):
        build_model({"method": "beta_vae", "gamma": 3, "seed": 0}, (5,))
    with pytest.raises(ValueError, match="method = 'dip_vae'"):
        build_model({"method": "dip_vae", "seed": 0}, (5,))
    with pytest.raises(ValueError, match="seed"):
        build_model({"method": "vae"}, (5,))
    with pytest.raises(ValueError, match="observation_shape"):
        build_model({"method": "vae", "seed": 0}, (1, 32, 32))
    with pytest.raises(ValueError, match="n_aux"):
        build_model({"method": "ivae", "seed": 0}, (5,), n_aux=0)
    # same seed, same initial weights whatever the hyperparameter
    a = build_model({"method": "beta_vae", "beta": 1, "seed": 5}, (5,))
    b = build_model({"method": "beta_vae", "beta": 8, "seed": 5}, (5,))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_factor_vae_groups_get_their_own_gradients():
    """The VAE loss moves encoder/decoder only; the discriminator follows its own objective."""
    model = build_model({"method": "factor_vae", "gamma": 30, "seed": 0}, (6,))
    x = torch.randn(32, 6, generator=gen(4))
    losses, _ = model.losses(x, None, 0, gen(5))
    disc = model.parameter_groups()["discriminator"]
    want = torch.autograd.grad(losses["discriminator"], disc, retain_graph=True)
    vae_on_disc = torch.autograd.grad(losses["vae"], disc, retain_graph=True)
    assert max(float(g.abs().max()) for g in vae_on_disc) > 0  # they would differ if mixed
    opts = {name: torch.optim.SGD(ps, lr=0.0) for name, ps in model.parameter_groups().items()}
    apply_gradients(model, losses, opts)
    for p, g in zip(disc, want, strict=True):
        torch.testing.assert_close(p.grad, g)


def test_ivae_prior_depends_on_u_and_enters_the_kl():
    model = build_model({"method": "ivae", "n_latent": 3, "seed": 0}, (4,), n_aux=5)
    u = torch.eye(5)
    with torch.no_grad():
        mean, logvar = model.prior(u)
    assert torch.equal(mean, torch.zeros(5, 3))
    assert float((logvar - logvar[:1]).abs().max()) > 1e-3  # one prior per segment
    x = torch.randn(5, 4, generator=gen(6))
    with torch.no_grad():
        qm, qlv = model.encode(x, u)
        kl = model.kl(qm, qlv, u)
    q = torch.distributions.Normal(qm, (0.5 * qlv).exp())
    p = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    want = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    assert float(kl) == pytest.approx(float(want), rel=1e-5)
    with pytest.raises(ValueError, match="u = None"):
        model.encode(x, None)
    learned = build_model({"method": "ivae", "learn_prior_mean": True, "seed": 0}, (4,), n_aux=5)
    assert float(learned.prior(u)[0].detach().abs().max()) > 0


def test_infogan_codes_and_representation():
    model = build_model(
        {"method": "infogan", "n_continuous": 2, "categories": [3, 4], "n_noise": 1, "seed": 0},
        IMAGE,
    )
    noise, c_cont, c_cat = model.sample_codes(500, gen(7))
    assert noise.shape == (500, 1) and c_cont.shape == (500, 2) and c_cat.shape == (500, 2)
    assert float(c_cont.min()) >= -1 and float(c_cont.max()) <= 1
    assert set(c_cat[:, 1].tolist()) == {0, 1, 2, 3}
    with torch.no_grad():
        fake = model.generate(noise[:3], c_cont[:3], c_cat[:3])
    assert fake.shape == (3, 1, 64, 64) and float(fake.min()) >= 0 and float(fake.max()) <= 1
    codes = model.represent(fake)
    assert codes.shape == (3, 2 + 3 + 4)
    torch.testing.assert_close(codes[:, 2:5].sum(dim=1), torch.ones(3))
    torch.testing.assert_close(codes[:, 5:].sum(dim=1), torch.ones(3))
    with pytest.raises(ValueError, match="categories"):
        build_model({"method": "infogan", "categories": [1], "seed": 0}, IMAGE)


def test_infogan_stabilisers(monkeypatch):
    """Issue 28's fix: spectrally normalised discriminator side, batch-normalised generator, Q's
    own hidden layer; seeded (two builds agree bit for bit); optional instance noise and label
    smoothing."""
    from torch.nn.utils import parametrize

    from disentangle.generative.infogan import SpectralNormalization

    model = build_model({"method": "infogan", "seed": 0}, IMAGE)
    again = build_model({"method": "infogan", "seed": 0}, IMAGE)
    state, other = model.state_dict(), again.state_dict()
    assert state.keys() == other.keys() and all(torch.equal(state[k], other[k]) for k in state)
    d_side = [model.body, model.d_head, model.q_head]
    layers = [m for part in d_side for m in part.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    assert len(layers) == 4 + 1 + 1 + 2 and all(parametrize.is_parametrized(m) for m in layers)
    norms = [m for m in model.synthesis.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    assert len(norms) == 5
    # a spectrally normalised weight has largest singular value ≈ 1: the power method's estimate
    # approaches σ from below, one iteration per training forward pass (Miyato et al. 2018)
    model.train()
    for _ in range(30):
        model.body(torch.rand(2, *IMAGE, generator=gen(1)))
    for conv in model.body.convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)
    norm = SpectralNormalization(torch.eye(3) * 4.0, gen(0))
    torch.testing.assert_close(norm(torch.eye(3) * 4.0), torch.eye(3))
    plain = build_model(
        {"method": "infogan", "seed": 0, "spectral_norm": False, "batch_norm": False}, IMAGE
    )
    assert not any(parametrize.is_parametrized(m) for m in plain.body.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.synthesis.modules())
    # instance noise decays linearly to 0; it changes the losses while it lasts
    noisy = build_model(
        {"method": "infogan", "seed": 0, "instance_noise": 0.5, "instance_noise_steps": 100},
        (6,),
    )
    assert noisy.noise_std(0) == 0.5 and noisy.noise_std(50) == 0.25 and noisy.noise_std(200) == 0
    x = torch.randn(8, 6, generator=gen(2))
    _, at_start = noisy.losses(x, None, 0, gen(3))
    _, at_end = noisy.losses(x, None, 100, gen(3))
    assert at_start["discriminator_loss"] != at_end["discriminator_loss"]
    assert 0.0 <= at_end["discriminator_accuracy"] <= 1.0
    for bad in ({"label_smoothing": 0.5}, {"instance_noise": -1.0}, {"q_hidden": -1}):
        with pytest.raises(ValueError):
            build_model({"method": "infogan", "seed": 0, **bad}, (6,))
