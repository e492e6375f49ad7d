"""The paper's GPT-2-style causal transformer with continuous inputs, as an ensemble.

The authors' ``GPT2ContinuousInputs`` (docs/replication.md, "Models") is Hugging Face's GPT2Model
with ``n_embd=64, n_layer=1, n_head=8, n_positions=22``, fed through ``inputs_embeds`` by a
Linear(41→64), with the positional-embedding table zeroed and frozen (no positional information
except the causal mask), and its final LayerNorm's output at every position as the hidden state.
Written here in plain torch (no model hub, nothing downloaded), with HF's defaults:
- block: x + Dropout(Attn(LN₁(x))), then x + Dropout(MLP(LN₂(x))); MLP width 4·64 = 256 with
  ``gelu_new`` (the tanh approximation); attention scaled by 1/√d_head with a causal mask;
- dropout 0.1 on the embeddings, the attention weights and both residual branches (training only);
- LayerNorm eps 1e-5; weights N(0, 0.02), biases 0, LayerNorms (1, 0), and the two output
  projections of each block N(0, 0.02/√(2·n_layer)) (GPT-2's scaled residual init). The input
  Linear(41→64) is initialised like the rest, N(0, 0.02) with a zero bias, because the authors'
  model passes it through HF's ``_init_weights`` (until December 2026 it kept nn.Linear's
  default U(±1/√41) and a uniform bias here).

Dropout masks come from a counter-based hash of (member's dropout seed, training step, position)
rather than the global RNG, so that a member's masks are the same alone or in an
ensemble and after a resume, on any device. The training loop sets ``rng_step`` every step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from disentangle.seeding import M32 as _M32
from disentangle.seeding import as_int32 as _as_int32
from disentangle.seeding import mix32
from disentangle.seeding import mix32_ as _mix32_
from disentangle.seeding import signed32 as _signed32

N_LAYER = 1
N_HEAD = 8
DROPOUT = 0.1
LN_EPS = 1e-5
INIT_STD = 0.02
_WEYL: dict[tuple[int, str], torch.Tensor] = {}


def _hashed_bits32(seeds: torch.Tensor, step: int, n: int) -> torch.Tensor:
    """``hashed_bits`` as int32, (K, n): the same 32 bits per element.

    The step's key is hashed on the host (``mix32``) and enters as a Python scalar: a tensor made
    from it on the device would be a blocking host-to-device copy every training step."""
    step_key = _signed32(mix32(step & _M32))
    key = _mix32_(_as_int32(seeds & _M32) ^ step_key)  # (K,)
    cache = (n, str(seeds.device))
    if cache not in _WEYL:
        idx = torch.arange(n, device=seeds.device, dtype=torch.int64)
        _WEYL[cache] = _as_int32((idx * 0x9E3779B9) & _M32)
    return _mix32_(_WEYL[cache][None, :] + key[:, None])


def hashed_bits(seeds: torch.Tensor, step: int, n: int) -> torch.Tensor:
    """32 random bits per element, (K, n) int64 in [0, 2³²): a pure function of (seeds[k], step,
    index). A Weyl sequence index·φ·2³² offset by the member's step key, then one murmur3
    finaliser round (computed in int32, ``_hashed_bits32``)."""
    return _hashed_bits32(seeds, step, n).to(torch.int64) & _M32


def dropout_keep(seeds: torch.Tensor, step: int, sizes: list[int], p: float) -> list[torch.Tensor]:
    """Keep masks (K, size) bool for several dropout sites from one hashed stream. Each 32-bit
    value gives two 16-bit uniforms, so a unit is dropped with probability round(p·2¹⁶)/2¹⁶
    (0.100006 for p = 0.1)."""
    total, threshold = sum(sizes), round(p * 65536)
    half = (total + 1) // 2
    bits = _hashed_bits32(seeds, step, half)
    keep = torch.empty((2, len(seeds), half), dtype=torch.bool, device=seeds.device)
    torch.ge(bits & 0xFFFF, threshold, out=keep[0])
    torch.ge(bits.bitwise_right_shift_(16).bitwise_and_(0xFFFF), threshold, out=keep[1])
    # member k's stream: its low halves, then its high halves
    keep = keep.transpose(0, 1).reshape(len(seeds), 2 * half)[:, :total]
    return list(keep.split(sizes, dim=1))


def _layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last axis with per-member affine parameters: x (K, M, E), w (K, E)."""
    return F.layer_norm(x, x.shape[-1:], eps=LN_EPS) * weight[:, None] + bias[:, None]


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.baddbmm(bias.unsqueeze(1), x, weight)


class GPT2(nn.Module):
    """K one-layer GPT-2 networks; hidden states are the final LayerNorm's outputs."""

    PARAMS = (
        "w_in",
        "b_in",
        "ln1_w",
        "ln1_b",
        "attn_w",
        "attn_b",
        "attn_proj_w",
        "attn_proj_b",
        "ln2_w",
        "ln2_b",
        "fc_w",
        "fc_b",
        "mlp_proj_w",
        "mlp_proj_b",
        "lnf_w",
        "lnf_b",
    )

    def __init__(self, dropout_seed: torch.Tensor, **params: torch.Tensor) -> None:
        super().__init__()
        for name in self.PARAMS:
            setattr(self, name, nn.Parameter(params[name]))
        self.register_buffer("dropout_seed", dropout_seed.to(torch.int64))
        self.dropout = DROPOUT
        self.rng_step = 0

    @staticmethod
    def init_member(input_size: int, hidden_size: int, g: torch.Generator) -> dict:
        e = hidden_size
        if e % N_HEAD:
            raise ValueError(f"hidden_size {e} must be a multiple of the {N_HEAD} heads")
        proj_std = INIT_STD / math.sqrt(2 * N_LAYER)

        def normal(shape, std):
            return torch.randn(shape, generator=g) * std

        return {
            "w_in": normal((input_size, e), INIT_STD),
            "b_in": torch.zeros(e),
            "attn_w": normal((e, 3 * e), INIT_STD),
            "attn_proj_w": normal((e, e), proj_std),
            "fc_w": normal((e, 4 * e), INIT_STD),
            "mlp_proj_w": normal((4 * e, e), proj_std),
            "attn_b": torch.zeros(3 * e),
            "attn_proj_b": torch.zeros(e),
            "fc_b": torch.zeros(4 * e),
            "mlp_proj_b": torch.zeros(e),
            "ln1_w": torch.ones(e),
            "ln1_b": torch.zeros(e),
            "ln2_w": torch.ones(e),
            "ln2_b": torch.zeros(e),
            "lnf_w": torch.ones(e),
            "lnf_b": torch.zeros(e),
            "dropout_seed": torch.randint(0, 1 << 31, (), generator=g),
        }

    @classmethod
    def from_members(cls, members: list[dict[str, torch.Tensor]]) -> GPT2:
        stacked = {k: torch.stack([m[k] for m in members]) for k in members[0]}
        return cls(**stacked)

    @property
    def n_members(self) -> int:
        return self.w_in.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.w_in.shape[-1]

    def _dropout(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """x · keep / (1 − p): one product with a pre-scaled mask (the same floats as x · keep ·
        scale, since keep is 0 or 1)."""
        if keep is None:
            return x
        scaled = keep.reshape(x.shape).to(x.dtype).mul_(1.0 / (1.0 - self.dropout))
        return x * scaled

    def _keep_masks(self, k: int, b: int, t: int) -> list:
        """The step's keep masks of the four dropout sites (embeddings, attention weights, the
        two residual branches), or Nones in eval mode."""
        if not self.training or self.dropout == 0:
            return [None] * 4
        e = self.hidden_size
        sizes = [b * t * e, b * N_HEAD * t * t, b * t * e, b * t * e]
        return dropout_keep(self.dropout_seed, self.rng_step, sizes, self.dropout)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Inputs (K, B, T, I) → final-LayerNorm states (K, B, T, E)."""
        k, b, t, i = u.shape
        e, heads = self.hidden_size, N_HEAD
        dh = e // heads
        keep = self._keep_masks(k, b, t)
        x = self._dropout(_linear(u.reshape(k, b * t, i), self.w_in, self.b_in), keep[0])

        a = _linear(_layer_norm(x, self.ln1_w, self.ln1_b), self.attn_w, self.attn_b)
        q, kk, v = (z.reshape(k, b, t, heads, dh).permute(0, 1, 3, 2, 4) for z in a.split(e, -1))
        scores = q @ kk.transpose(-1, -2) / math.sqrt(dh)  # (K, B, heads, T, T)
        future = torch.ones(t, t, dtype=torch.bool, device=u.device).triu_(1)
        scores.masked_fill_(future, float("-inf"))  # in place: the division keeps no output
        probs = self._dropout(torch.softmax(scores, dim=-1), keep[1])
        ctx = (probs @ v).permute(0, 1, 3, 2, 4).reshape(k, b * t, e)
        x = x + self._dropout(_linear(ctx, self.attn_proj_w, self.attn_proj_b), keep[2])

        m = _layer_norm(x, self.ln2_w, self.ln2_b)
        m = F.gelu(_linear(m, self.fc_w, self.fc_b), approximate="tanh")
        x = x + self._dropout(_linear(m, self.mlp_proj_w, self.mlp_proj_b), keep[3])
        return _layer_norm(x, self.lnf_w, self.lnf_b).view(k, b, t, e)

    def last_state(self, u: torch.Tensor) -> torch.Tensor:
        """The state at the last position only, (K, B, E): ``forward(u)[:, :, -1]`` in eval mode,
        for the metrics, which read the final state of every trial.

        The last query attends to every position, so the keys and values of all T positions are
        computed; the query, the attention output, the MLP (two thirds of the FLOPs) and the
        LayerNorms after attention only at the last one, and the scores are (T,) per head, not
        (T, T). ``metrics.ood.final_states`` of a 15-member quick-preset GPT-2 on 4096 trials, one
        thread: 23.9 s through ``forward``, 5.7 s through this (1.2 s of it the mixing encoder);
        the same arithmetic up to float rounding (2·10⁻⁶ there; ``tests/test_gpt2.py``). In
        training mode the dropout masks are drawn for the whole sequence, so this falls back to
        ``forward``.
        """
        if self.training and self.dropout > 0:
            return self.forward(u)[:, :, -1]
        k, b, t, i = u.shape
        e, heads = self.hidden_size, N_HEAD
        dh = e // heads
        x = _linear(u.reshape(k, b * t, i), self.w_in, self.b_in).view(k, b, t, e)
        a = _layer_norm(x.view(k, b * t, e), self.ln1_w, self.ln1_b)
        kv = _linear(a, self.attn_w[:, :, e:], self.attn_b[:, e:]).view(k, b, t, 2, heads, dh)
        q = _linear(a.view(k, b, t, e)[:, :, -1], self.attn_w[:, :, :e], self.attn_b[:, :e])
        q = q.view(k, b, heads, 1, dh)
        keys = kv[:, :, :, 0].permute(0, 1, 3, 4, 2)  # (K, B, heads, dh, T)
        values = kv[:, :, :, 1].transpose(2, 3)  # (K, B, heads, T, dh)
        probs = torch.softmax(q @ keys / math.sqrt(dh), dim=-1)  # (K, B, heads, 1, T)
        ctx = (probs @ values).reshape(k, b, e)
        last = x[:, :, -1] + _linear(ctx, self.attn_proj_w, self.attn_proj_b)
        m = F.gelu(
            _linear(_layer_norm(last, self.ln2_w, self.ln2_b), self.fc_w, self.fc_b),
            approximate="tanh",
        )
        last = last + _linear(m, self.mlp_proj_w, self.mlp_proj_b)
        return _layer_norm(last, self.lnf_w, self.lnf_b)
