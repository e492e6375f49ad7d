"""The ensemble GPT-2 against a per-network reference built from torch.nn modules."""

from __future__ import annotations

import torch
from torch import nn

from disentangle.models.gpt2 import GPT2, dropout_keep, hashed_bits
from disentangle.seeding import generator


def reference(m: dict, u: torch.Tensor) -> torch.Tensor:
    """One network: Linear → pre-LN block (nn.MultiheadAttention, GELU-tanh MLP) → LayerNorm."""
    e = m["w_in"].shape[1]
    attn = nn.MultiheadAttention(e, 8, batch_first=True, bias=True)
    ln1, ln2, lnf = nn.LayerNorm(e), nn.LayerNorm(e), nn.LayerNorm(e)
    with torch.no_grad():
        attn.in_proj_weight.copy_(m["attn_w"].T)
        attn.in_proj_bias.copy_(m["attn_b"])
        attn.out_proj.weight.copy_(m["attn_proj_w"].T)
        attn.out_proj.bias.copy_(m["attn_proj_b"])
        for ln, w, b in ((ln1, "ln1_w", "ln1_b"), (ln2, "ln2_w", "ln2_b"), (lnf, "lnf_w", "lnf_b")):
            ln.weight.copy_(m[w])
            ln.bias.copy_(m[b])
    t = u.shape[1]
    x = u @ m["w_in"] + m["b_in"]
    a = ln1(x)
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)  # True = not allowed
    x = x + attn(a, a, a, attn_mask=mask, need_weights=False)[0]
    h = nn.functional.gelu(ln2(x) @ m["fc_w"] + m["fc_b"], approximate="tanh")
    x = x + h @ m["mlp_proj_w"] + m["mlp_proj_b"]
    return lnf(x)


def random_members(n: int, scale: float = 1.0):
    """Members with every parameter randomised (the GPT-2 init zeroes biases and sets the
    LayerNorms to identity, which would hide mistakes in those paths)."""
    out = []
    for s in range(n):
        m = GPT2.init_member(41, 64, generator("t", s))
        g = generator("t-rand", s)
        for key, value in m.items():
            if key != "dropout_seed":
                m[key] = value + torch.randn(value.shape, generator=g) * 0.1 * scale
        out.append(m)
    return out


def test_matches_reference_in_eval_mode():
    members = random_members(3)
    model = GPT2.from_members(members).eval()
    u = torch.randn(3, 4, 22, 41)
    out = model(u)
    assert out.shape == (3, 4, 22, 64)
    for k, m in enumerate(members):
        assert torch.allclose(out[k], reference(m, u[k]), atol=1e-4)


def test_parameter_count_and_init():
    m = GPT2.init_member(41, 64, generator("t", 0))
    n = sum(v.numel() for k, v in m.items() if k != "dropout_seed")
    assert n == 52_800  # docs/replication.md, "Models": "about 52.8k without the read-out"
    assert abs(float(m["attn_w"].std()) - 0.02) < 0.002
    assert abs(float(m["mlp_proj_w"].std()) - 0.02 / 2**0.5) < 0.002
    assert torch.all(m["ln1_w"] == 1) and torch.all(m["attn_b"] == 0)
    # The input projection as the authors' (HF _init_weights): N(0, 0.02), zero bias; nn.Linear's
    # default would be U(±1/√41), sd 0.090.
    assert abs(float(m["w_in"].std()) - 0.02) < 0.002
    assert abs(float(m["w_in"].mean())) < 0.002
    assert torch.all(m["b_in"] == 0)


def test_causal_no_positional_information():
    model = GPT2.from_members(random_members(1)).eval()
    u = torch.randn(1, 2, 22, 41)
    v = u.clone()
    v[:, :, 15:] += 1.0
    a, b = model(u), model(v)
    assert torch.allclose(a[:, :, :15], b[:, :, :15], atol=1e-6)  # the past ignores the future
    assert not torch.allclose(a[:, :, 15:], b[:, :, 15:])
    # without positional embeddings, a constant input gives the same state at every position
    const = torch.randn(1, 1, 1, 41).expand(1, 1, 22, 41)
    out = model(const)
    assert torch.allclose(out[0, 0, 0], out[0, 0, -1], atol=1e-5)


def test_dropout_is_per_member_and_reproducible():
    members = random_members(3)
    ens = GPT2.from_members(members).train()
    alone = GPT2.from_members(members[1:2]).train()
    u = torch.randn(3, 2, 22, 41)
    ens.rng_step = alone.rng_step = 7
    a, b = ens(u)[1], alone(u[1:2])[0]
    assert torch.allclose(a, b, atol=1e-6)
    ens.rng_step = 8
    assert not torch.allclose(ens(u)[1], a)  # fresh masks every step
    assert not torch.allclose(ens.eval()(u)[1], a)  # and none in eval mode


def test_hashed_bits_are_uniform_and_independent():
    x = hashed_bits(torch.tensor([1, 2]), step=3, n=100_000).double() / 2**32
    assert x.min() >= 0 and x.max() < 1
    assert abs(float(x.mean()) - 0.5) < 0.005
    assert abs(float((x < 0.1).float().mean()) - 0.1) < 0.005
    assert not torch.equal(x[0], x[1])
    assert torch.equal(x, hashed_bits(torch.tensor([1, 2]), 3, 100_000).double() / 2**32)
    assert abs(float(torch.corrcoef(torch.stack([x[0, :-1], x[0, 1:]]))[0, 1])) < 0.02
    # consecutive steps of one member are not shifted copies of each other
    y = hashed_bits(torch.tensor([1, 2]), step=4, n=100_000).double() / 2**32
    assert abs(float(torch.corrcoef(torch.stack([x[0], y[0]]))[0, 1])) < 0.02


def _murmur_reference(seed: int, step: int, index: int) -> int:
    """The hash in plain Python integers (unbounded, so no wrap-around tricks): the bits every
    dropout mask comes from, whatever integer width the tensors compute them in."""
    m = 0xFFFFFFFF

    def mix(x):
        x ^= x >> 16
        x = (x * 0x7FEB352D) & m
        x ^= x >> 15
        x = (x * 0x5BD1E995) & m
        return x ^ (x >> 16)

    key = mix((seed & m) ^ mix(step & m))
    return mix(((index * 0x9E3779B9) & m) + key & m)


def test_hashed_bits_equal_the_plain_integer_hash():
    """The int32 tensor arithmetic (wrapping products, masked arithmetic shifts) gives exactly
    the unsigned 32-bit hash, also for values with the top bit set and large steps."""
    seeds = torch.tensor([0, 1, 2**31 - 1, 123456789])
    for step in (0, 7, 2**31 + 5, 2**40 + 3):
        bits = hashed_bits(seeds, step, 1000)
        assert bits.dtype == torch.int64 and int(bits.min()) >= 0 and int(bits.max()) < 2**32
        assert int(bits.max()) >= 2**31  # the sign bit of int32 is exercised
        for k, seed in enumerate(seeds.tolist()):
            for i in (0, 1, 2, 500, 999):
                assert int(bits[k, i]) == _murmur_reference(seed, step, i)


def test_dropout_keep_rate_and_sites():
    seeds = torch.tensor([5, 6, 7])
    sizes = [3000, 50_001, 3000]
    masks = dropout_keep(seeds, step=11, sizes=sizes, p=0.1)
    assert [m.shape for m in masks] == [(3, s) for s in sizes]
    kept = torch.cat(masks, dim=1).float()
    assert abs(float(kept.mean()) - 0.9) < 0.003  # drop rate 6554 / 65536 = 0.100006
    # one member's masks do not depend on which other members share the ensemble
    alone = dropout_keep(seeds[1:2], step=11, sizes=sizes, p=0.1)
    assert all(torch.equal(a[0], m[1]) for a, m in zip(alone, masks, strict=True))


def test_last_state_is_the_last_position_of_forward():
    members = random_members(3)
    model = GPT2.from_members(members).double().eval()
    u = torch.randn(3, 5, 22, 41, dtype=torch.float64)
    last = model.last_state(u)
    assert last.shape == (3, 5, 64)
    assert torch.allclose(last, model(u)[:, :, -1], atol=1e-12, rtol=0)
    # the earlier positions matter through attention: changing one moves the last state
    v = u.clone()
    v[:, :, 3] += 1.0
    assert (model.last_state(v) - last).abs().max() > 1e-3
    # in training mode the masks cover the whole sequence: the same as forward's last position
    model.train()
    model.rng_step = 3
    assert torch.allclose(model.last_state(u), model(u)[:, :, -1], atol=1e-12, rtol=0)
