"""Recurrent ensembles: the paper's leaky and non-leaky ReLU RNNs, LSTM and GRU.

Each is K independent networks with stacked parameters (leading axis K). The input drive of all
time steps is computed with one batched matmul; the recurrence then runs step by step with one
batched matmul per step. Every class draws its initial weights exactly as the corresponding
``torch.nn`` module would (U(±1/√fan_in) for the ReLU RNNs' nn.Linear layers, U(±1/√H) for
nn.LSTM and nn.GRU) and is checked against that module in ``tests/test_models.py``.
"""

from __future__ import annotations

import torch
from torch import nn

from disentangle.seeding import hashed_normal, uniform

ALPHA = 1.0  # dt / tau with tau = dt = 100 ms, as in the paper's runs


class RecurrentEnsemble(nn.Module):
    """Shared plumbing: parameters from stacked members, input drive, the time loop."""

    PARAMS: tuple[str, ...] = ()
    #: whether the units take the ``units`` noise kind (a pre-activation h_t to add it to)
    UNIT_NOISE = False

    def __init__(self, **params: torch.Tensor) -> None:
        super().__init__()
        for name in self.PARAMS:
            setattr(self, name, nn.Parameter(params[name]))

    @classmethod
    def from_members(cls, members: list[dict[str, torch.Tensor]]):
        return cls(**{k: torch.stack([m[k] for m in members]) for k in cls.PARAMS})

    @property
    def n_members(self) -> int:
        return self.w_in.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.w_rec.shape[1]

    def _split_unit_noise(self, u: torch.Tensor):
        """Inputs (K, B, T, I [+ 2]) → (the I input channels, the units' noise or None).

        With the ``units`` noise kind (``tasks.evidence.build_inputs``) the inputs carry two more
        channels: the noise's sd s and the trial's key. The noise is then s·ξ_t with ξ_t ~ N(0, I_H)
        i.i.d. per trial, step and unit, a pure function of the key (``seeding.hashed_normal``),
        returned time-major as (T, K, B, H), ready to add to the pre-activation's drive."""
        width = self.w_in.shape[1]
        if u.shape[-1] == width:
            return u, None
        if u.shape[-1] != width + 2 or not self.UNIT_NOISE:
            raise ValueError(
                f"{type(self).__name__}: inputs with {u.shape[-1]} channels, expected {width}"
                + (" (+ 2 with units noise)" if self.UNIT_NOISE else "")
            )
        k, b, t, _ = u.shape
        sd, key = u[:, :, 0, width], u[:, :, 0, width + 1].to(torch.int64)
        if k > 1 and not torch.is_grad_enabled() and torch.equal(key, key[:1].expand_as(key)):
            # evaluation: every member runs the same trials, so draw their noise once
            xi = hashed_normal(key[0], t * self.hidden_size).expand(k, -1, -1)
        else:
            xi = hashed_normal(key, t * self.hidden_size)
        noise = (sd[:, :, None, None] * xi.view(k, b, t, -1)).permute(2, 0, 1, 3)
        return u[..., :width], noise

    def _drive(self, u: torch.Tensor) -> torch.Tensor:
        """W_in·u_t + b for every step: (K, B, T, I) → (T, K, B, G), time-major and contiguous
        (the layout ``ReluRecurrence`` steps through in place), plus the units' noise where the
        inputs carry it (``_split_unit_noise``)."""
        u, noise = self._split_unit_noise(u)
        k, b, t, i = u.shape
        drive = torch.baddbmm(self.bias.unsqueeze(1), u.reshape(k, b * t, i), self.w_in)
        drive = drive.view(k, b, t, -1).permute(2, 0, 1, 3)
        return (drive if noise is None else drive + noise).contiguous()

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Inputs (K, B, T, I) → hidden states h_1..h_T of shape (K, B, T, H).

        The drive is computed from time-major inputs, (K, T·B, G) with member k's step t in rows
        [t·B, (t + 1)·B), and each step reads its (K, B, G) block in place (a strided batch,
        which baddbmm takes as it is). Only the I = 41-column inputs are transposed, never the
        G-wide drive (G = 4H = 256 for the LSTM): in the forward pass and, through unbind's
        backward, in the backward pass. 500 batches of a 15-member ensemble, one thread, whole
        command: LSTM 25.0 / 27.2 s → 22.9 / 24.7 s, GRU 26.5 / 22.5 s → 24.0 / 20.1 s (~1.1×);
        the final states of 2048 trials (the metrics' chunk) 2.90 → 2.28 s (LSTM), 1.85 → 1.45 s
        (GRU), with the same outputs bit for bit (the input gradients' summation order differs).
        """
        u, noise = self._split_unit_noise(u)
        k, b, t, i = u.shape
        u_tm = u.transpose(1, 2).reshape(k, t * b, i)
        drive = torch.baddbmm(self.bias.unsqueeze(1), u_tm, self.w_in)
        if noise is not None:  # (T, K, B, H) → member-major, as the drive
            drive = drive + noise.transpose(0, 1).reshape(k, t * b, -1)
        # unbind, not drive[step]: indexing's backward would zero-fill a full-size gradient at
        # every step (quadratic in T); unbind's backward stacks the per-step gradients once.
        drives = drive.view(k, t, b, -1).unbind(1)
        state = self.initial_state(k, b, u)
        out = []
        for drive in drives:
            state, h = self.step(drive, state)
            out.append(h)
        return torch.stack(out, dim=2)

    def initial_state(self, k: int, b: int, like: torch.Tensor):
        return torch.zeros((k, b, self.hidden_size), dtype=like.dtype, device=like.device)


class ReluRecurrence(torch.autograd.Function):
    """r_t = ReLU(d_t + r_{t−1}·W), r_0 = 0, for all T steps at once, with a hand-written
    backward pass through time (the training hot path of the paper's RNN).

    Autograd would record T steps of baddbmm + ReLU, stack them, and going back run two small bmm
    per step (the gradient to r_{t−1} and a (H×B)·(B×H) weight gradient with B = 16) plus an
    accumulation. Here the rates overwrite the time-major drive in place (step t is the
    contiguous block ``drive[t]``: batched GEMM at full speed, no stacking), the backward
    recursion keeps one matmul per step, δ_t = (g_t + δ_{t+1}·Wᵀ) ⊙ 1[r_t > 0], in place too,
    and the weight gradient Σ_t r_{t−1}ᵀ·δ_t is one matmul over all (T − 1)·B rows. The
    mathematics is autograd's; only the float summation order differs (``tests/test_models.py``
    compares both gradients).

    drive: (T, K, B, H), W_in·u_t + b for every step, consumed (overwritten by the rates);
    w: (K, H, H). Returns the rates, (T, K, B, H).
    """

    @staticmethod
    def forward(ctx, drive: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        drive[0].relu_()
        for t in range(1, drive.shape[0]):
            drive[t].baddbmm_(drive[t - 1], w).relu_()
        ctx.mark_dirty(drive)
        ctx.save_for_backward(drive, w)
        return drive

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        rates, w = ctx.saved_tensors
        n_steps, k, b, h = rates.shape
        delta = grad.clone(memory_format=torch.contiguous_format)  # becomes δ, in place
        active = rates.sign()  # 1[r_t > 0] of every step in one pass: the rates are ≥ 0
        w_t = w.transpose(1, 2)
        delta[-1].mul_(active[-1])
        for t in range(n_steps - 2, -1, -1):
            delta[t].baddbmm_(delta[t + 1], w_t).mul_(active[t])
        grad_w = None
        if ctx.needs_input_grad[1]:
            # Σ_{t ≥ 1} r_{t−1}ᵀ δ_t: (K, H, (T−1)·B) · (K, (T−1)·B, H) in one matmul. The first
            # factor is a transposed view of a (K, (T−1)·B, H) copy: copying with H innermost is
            # 3× faster than materialising the transpose, and the GEMM gives the same bits.
            rows = (n_steps - 1) * b
            prev = rates[:-1].transpose(0, 1).reshape(k, rows, h)
            nxt = delta[1:].transpose(0, 1).reshape(k, rows, h)
            grad_w = torch.bmm(prev.transpose(1, 2), nxt)
        return delta, grad_w


class LeakyRNN(RecurrentEnsemble):
    """The paper's leaky ReLU RNN (Eq. 5), with 64 units and τ = dt = 100 ms:

        h_t = W_in·u_t + b_in + W_rec·r_{t−1} + b_rec
        r_t = (1 − α)·r_{t−1} + α·ReLU(h_t),   r_0 = 0,   α = dt/τ = 1

    so the "leaky" RNN is a plain ReLU Elman network, r_t = ReLU(h_t) (docs/replication.md,
    "Models"). The two biases are summed into one parameter: the same model (a bias pair is not
    identifiable). With the ``units`` noise kind (beyond the paper) h_t gains s·ξ_t, ξ_t ~ N(0, I)
    per trial, step and unit (``_split_unit_noise``), as the authors' ``n_sd_net`` adds it to the
    pre-activation (theirs is one vector per step shared by the batch).
    """

    PARAMS = ("w_in", "w_rec", "bias")
    UNIT_NOISE = True
    alpha = ALPHA

    @staticmethod
    def init_member(input_size: int, hidden_size: int, g: torch.Generator) -> dict:
        """One network's weights, as nn.Linear(I→H) and nn.Linear(H→H) would draw them."""
        b_in, b_rec = input_size**-0.5, hidden_size**-0.5
        w_in = uniform((hidden_size, input_size), b_in, g).T.contiguous()
        bias_in = uniform((hidden_size,), b_in, g)
        w_rec = uniform((hidden_size, hidden_size), b_rec, g).T.contiguous()
        bias_rec = uniform((hidden_size,), b_rec, g)
        return {"w_in": w_in, "w_rec": w_rec, "bias": bias_in + bias_rec}

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Inputs (K, B, T, I) → rates (K, B, T, H). With α = 1 (the paper's setting) the whole
        recurrence runs in ``ReluRecurrence``; other leaks take the generic step loop."""
        if type(self).step is not LeakyRNN.step or self.alpha != 1.0:
            return super().forward(u)
        rates = ReluRecurrence.apply(self._drive(u), self.w_rec)  # (T, K, B, H)
        return rates.permute(1, 2, 0, 3)

    def step(self, drive: torch.Tensor, r: torch.Tensor):
        rate = torch.relu(torch.baddbmm(drive, r, self.w_rec))
        if self.alpha != 1.0:
            rate = (1.0 - self.alpha) * r + self.alpha * rate
        return rate, rate


class NonLeakyRNN(LeakyRNN):
    """The paper's non-leaky RNN: r_t = r_{t−1} + α·ReLU(h_t) with α = 1, a pure integrator whose
    units can only grow. Same parameters and initialisation as ``LeakyRNN``."""

    def step(self, drive: torch.Tensor, r: torch.Tensor):
        rate = r + self.alpha * torch.relu(torch.baddbmm(drive, r, self.w_rec))
        return rate, rate


class LSTM(RecurrentEnsemble):
    """``nn.LSTM(I, H, batch_first=True)`` with a zero initial state; gates in PyTorch's order
    (input, forget, cell, output); its output h_t is the hidden state. Biases b_ih + b_hh merged."""

    PARAMS = ("w_in", "w_rec", "bias")

    @staticmethod
    def init_member(input_size: int, hidden_size: int, g: torch.Generator) -> dict:
        bound = hidden_size**-0.5
        w_ih = uniform((4 * hidden_size, input_size), bound, g)
        w_hh = uniform((4 * hidden_size, hidden_size), bound, g)
        b_ih = uniform((4 * hidden_size,), bound, g)
        b_hh = uniform((4 * hidden_size,), bound, g)
        return {"w_in": w_ih.T.contiguous(), "w_rec": w_hh.T.contiguous(), "bias": b_ih + b_hh}

    @property
    def hidden_size(self) -> int:
        return self.w_rec.shape[1]

    def initial_state(self, k: int, b: int, like: torch.Tensor):
        zeros = super().initial_state(k, b, like)
        return zeros, zeros.clone()

    def step(self, drive: torch.Tensor, state):
        h, c = state
        gates = torch.baddbmm(drive, h, self.w_rec)
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return (h, c), h


class GRU(RecurrentEnsemble):
    """``nn.GRU(I, H, batch_first=True)`` with a zero initial state (gates reset, update, new):

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h

    b_hn sits inside the reset gate's product, so the recurrent bias is kept apart."""

    PARAMS = ("w_in", "w_rec", "bias", "bias_rec")

    @staticmethod
    def init_member(input_size: int, hidden_size: int, g: torch.Generator) -> dict:
        bound = hidden_size**-0.5
        w_ih = uniform((3 * hidden_size, input_size), bound, g)
        w_hh = uniform((3 * hidden_size, hidden_size), bound, g)
        b_ih = uniform((3 * hidden_size,), bound, g)
        b_hh = uniform((3 * hidden_size,), bound, g)
        return {
            "w_in": w_ih.T.contiguous(),
            "w_rec": w_hh.T.contiguous(),
            "bias": b_ih,
            "bias_rec": b_hh,
        }

    def step(self, drive: torch.Tensor, h: torch.Tensor):
        rec = torch.baddbmm(self.bias_rec.unsqueeze(1), h, self.w_rec)
        xr, xz, xn = drive.chunk(3, dim=-1)
        hr, hz, hn = rec.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, h
