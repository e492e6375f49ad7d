"""The task read-out Linear(H→N) of every ensemble member, padded to the largest N.

Members of one ensemble may solve different numbers of tasks N_k. Their read-outs are stored in
one (K, H, N_max) tensor; the columns beyond N_k are zero, masked out of the loss and never
updated (their gradient is exactly zero), so each member trains as it would alone.
"""

from __future__ import annotations

import torch
from torch import nn

from disentangle.seeding import uniform


class Readout(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, n_tasks: list[int]) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)  # (K, H, N_max)
        self.bias = nn.Parameter(bias)  # (K, N_max)
        mask = torch.zeros_like(bias)
        for k, n in enumerate(n_tasks):
            mask[k, :n] = 1.0
        self.register_buffer("mask", mask)  # (K, N_max): 1 for a member's own outputs
        self.n_tasks = list(n_tasks)

    @staticmethod
    def init_member(hidden_size: int, n_tasks: int, g: torch.Generator) -> dict[str, torch.Tensor]:
        bound = hidden_size**-0.5
        return {
            "weight": uniform((n_tasks, hidden_size), bound, g).T.contiguous(),
            "bias": uniform((n_tasks,), bound, g),
        }

    @classmethod
    def from_members(cls, members: list[dict[str, torch.Tensor]]) -> Readout:
        n_tasks = [m["bias"].shape[0] for m in members]
        n_max, hidden = max(n_tasks), members[0]["weight"].shape[0]
        weight = torch.zeros((len(members), hidden, n_max))
        bias = torch.zeros((len(members), n_max))
        for k, m in enumerate(members):
            weight[k, :, : n_tasks[k]] = m["weight"]
            bias[k, : n_tasks[k]] = m["bias"]
        return cls(weight, bias, n_tasks)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """Hidden states (K, B, T, H) → logits (K, B, T, N_max)."""
        k, b, t, h = states.shape
        out = torch.baddbmm(self.bias.unsqueeze(1), states.reshape(k, b * t, h), self.weight)
        return out.view(k, b, t, -1)
