"""Lifetime sparseness of hidden units (the paper's Fig. S6; docs/replication.md, "Sparsity,
dynamics and tuning"; the authors' sparsity.py).

Vinje & Gallant (2000) lifetime sparseness of a unit over m stimuli:
    S = (1 − (mean r)² / mean(r²)) / (1 − 1/m),
1 for a unit that responds to a single stimulus, 0 for a constant one; an all-zero (dead) unit
counts as 1. The network's sparsity is 100 × the mean of S over its units, from noise-free trials
with 1000 latents x* ~ U(−.5, .5)^D and the activity at time index −2 (the last stimulus step).

Signed states (LSTM/GRU hidden states, in (−1, 1)): by default (``negative="raw"``) the formula is
applied to the values as they are, which is what the authors' sparsity.py did with the LSTM's
output h. For signed values S lies in [0, m/(m−1)] and measures 1 − mean²/mean(r²), not
selectivity; ``"abs"`` (magnitudes) and ``"rectify"`` (max(r, 0)) are the alternatives. For the
ReLU RNNs all three are identical.
"""

from __future__ import annotations

import torch

from disentangle.analysis.dynamics import noise_free_trajectories
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import TaskSpec

N_STIMULI = 1000
TIME_INDEX = -2  # the last stimulus step of a fixation-stimulus-decision trial (free RT: the
# trial is stimulus only, so pass time_index=-1 for its last step)
NEGATIVE = ("raw", "abs", "rectify")


def lifetime_sparseness(rates: torch.Tensor) -> torch.Tensor:
    """Vinje–Gallant lifetime sparseness of each unit over the stimuli: rates (m, U) → S (U,),
    computed in float64; an all-zero unit gives 1."""
    if rates.ndim != 2 or rates.shape[0] < 2:
        raise ValueError(
            f"rates of shape {tuple(rates.shape)}: expected (m, U) with m >= 2 stimuli"
        )
    r = rates.detach().to(torch.float64)
    m = r.shape[0]
    mean, mean_sq = r.mean(dim=0), (r**2).mean(dim=0)
    dead = mean_sq == 0
    ratio = torch.where(dead, torch.zeros_like(mean), mean**2 / torch.where(dead, 1.0, mean_sq))
    return torch.where(dead, torch.ones_like(mean), (1.0 - ratio) / (1.0 - 1.0 / m))


def active_fraction(rates: torch.Tensor) -> float:
    """Percentage of (stimulus, unit) entries with a positive rate, the authors' second (unused)
    sparsity statistic."""
    return float((rates > 0).to(torch.float64).mean() * 100.0)


def signed_rates(rates: torch.Tensor, negative: str = "raw") -> torch.Tensor:
    """Rates prepared for the sparseness formula: as they are, their magnitudes or rectified."""
    if negative == "raw":
        return rates
    if negative == "abs":
        return rates.abs()
    if negative == "rectify":
        return rates.clamp_min(0.0)
    raise ValueError(f"negative = {negative!r}: expected one of {NEGATIVE}")


def network_sparsity(
    model,
    encoder: MixingEncoder,
    task: TaskSpec,
    k: int,
    n_stimuli: int = N_STIMULI,
    *,
    generator: torch.Generator,
    negative: str = "raw",
    time_index: int = TIME_INDEX,
) -> float:
    """Member k's sparsity in %: 100 × the mean over units of the lifetime sparseness of its
    noise-free activity at ``time_index`` over ``n_stimuli`` latents drawn from ``generator``."""
    if n_stimuli < 2:
        raise ValueError(f"n_stimuli = {n_stimuli}: expected >= 2")
    if not -task.n_steps <= time_index < task.n_steps:
        raise ValueError(f"time_index = {time_index}: expected within a {task.n_steps}-step trial")
    x = torch.rand((n_stimuli, task.dim), generator=generator) - 0.5
    states, _ = noise_free_trajectories(model, encoder, task, k, x)
    rates = signed_rates(states[:, time_index], negative)
    return float(lifetime_sparseness(rates).mean() * 100.0)
