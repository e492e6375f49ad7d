"""The paper's leaky ReLU RNN (Eq. 5), as an ensemble of K independent networks.

    h_t = W_in·u_t + b_in + W_rec·r_{t−1} + b_rec
    r_t = (1 − α)·r_{t−1} + α·ReLU(h_t),   r_0 = 0,   α = dt/τ

with 64 units and τ = dt = 100 ms, so α = 1 and the "leaky" RNN is a plain ReLU Elman network,
r_t = ReLU(h_t) (REPLICATION.md 2). Both linear maps use PyTorch's default ``nn.Linear``
initialisation, U(±1/√fan_in) for weights and biases. The two biases are summed into one
parameter: the model is the same, and a bias pair is not identifiable anyway.
"""

from __future__ import annotations

import torch
from torch import nn

from disentangle.seeding import uniform

ALPHA = 1.0  # dt / tau with tau = dt = 100 ms, as in the paper's runs


class LeakyRNN(nn.Module):
    """K leaky ReLU RNNs; parameters have shape (K, ...), trained jointly but independently."""

    def __init__(
        self, w_in: torch.Tensor, w_rec: torch.Tensor, bias: torch.Tensor, alpha: float = ALPHA
    ) -> None:
        super().__init__()
        self.w_in = nn.Parameter(w_in)  # (K, I, H)
        self.w_rec = nn.Parameter(w_rec)  # (K, H, H)
        self.bias = nn.Parameter(bias)  # (K, H)
        self.alpha = float(alpha)

    @staticmethod
    def init_member(
        input_size: int, hidden_size: int, g: torch.Generator
    ) -> dict[str, torch.Tensor]:
        """One network's weights, as nn.Linear(I→H) and nn.Linear(H→H) would draw them."""
        b_in, b_rec = input_size**-0.5, hidden_size**-0.5
        w_in = uniform((hidden_size, input_size), b_in, g).T.contiguous()
        bias_in = uniform((hidden_size,), b_in, g)
        w_rec = uniform((hidden_size, hidden_size), b_rec, g).T.contiguous()
        bias_rec = uniform((hidden_size,), b_rec, g)
        return {"w_in": w_in, "w_rec": w_rec, "bias": bias_in + bias_rec}

    @classmethod
    def from_members(cls, members: list[dict[str, torch.Tensor]]) -> LeakyRNN:
        return cls(*(torch.stack([m[k] for m in members]) for k in ("w_in", "w_rec", "bias")))

    @property
    def n_members(self) -> int:
        return self.w_in.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.w_in.shape[-1]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Inputs (K, B, T, I) → rates r_1..r_T of shape (K, B, T, H)."""
        k, b, t, i = u.shape
        # Input drive for all steps at once, then time-major so each step's slice is contiguous.
        drive = torch.baddbmm(self.bias.unsqueeze(1), u.reshape(k, b * t, i), self.w_in)
        drive = drive.view(k, b, t, -1).permute(2, 0, 1, 3).contiguous()  # (T, K, B, H)
        r = torch.relu(drive[0])  # r_0 = 0, so the recurrent term vanishes at t = 1
        if self.alpha != 1.0:
            r = self.alpha * r
        rates = [r]
        for step in range(1, t):
            h = torch.baddbmm(drive[step], r, self.w_rec)
            r = (
                torch.relu(h)
                if self.alpha == 1.0
                else (1 - self.alpha) * r + self.alpha * torch.relu(h)
            )
            rates.append(r)
        return torch.stack(rates, dim=2)
