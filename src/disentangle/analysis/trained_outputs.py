"""Theorem 3.1, part 1, on trained networks: how close the trained outputs Ŷ(t) come to the
Bayes-optimal outputs, and whether the closed form recovers the posterior mean from them.

For boundaries through the origin with unit normals C (N × D) and i.i.d. Gaussian evidence
x* + ε_s (sd σ), the theorem's Bayes-optimal output of task i after t samples is, under a flat
prior, Ŷ_i(t) = Φ(√t·c_iᵀm_t/σ) with m_t the running mean of the evidence (the posterior mean).
Its part 1: C and the outputs determine the posterior mean by the closed form
μ(t) = (CᵀC)⁻¹Cᵀ·(σ/√t)·Φ⁻¹(Ŷ(t)) (exact for the Bayes outputs when N ≥ D).

The trained networks (sigmoid read-out, BCE) are trained to report P(y_i = 1 | evidence) at the
decision step after T stimulus steps. Here each network sees the evaluation trials cut to t ≤ T
stimulus steps, then the decision cue, and its decision-step output is compared with the Bayes
outputs at that t:

- ``output_r2``: r² of the network's outputs against the Bayes outputs, pooled over trials and
  tasks (1 − residual / total sum of squares around the Bayes outputs' mean);
- ``output_kl``: mean Bernoulli KL(Bayes ‖ network), nats per task and trial;
- ``mu_r2``: r² of the closed form applied to the network's outputs (their probits Φ⁻¹(Ŷ), taken
  from the logits so that saturated outputs keep their value) against m_t, pooled over the D
  coordinates; ``mu_r2_bayes``: the same from the Bayes outputs' probits (1 when N ≥ D: the check
  of the closed form itself).

Durations other than T test how the trained network's read-out generalises in time: it was only
ever asked for its answer after T steps. A flat prior, not the task's uniform one, is what the
theorem assumes; near the square's edges the uniform prior's outputs are more confident.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from disentangle.metrics.decoders import member_inputs
from disentangle.tasks.spec import LINEAR_BOUNDARIES, TaskSpec

CLIP = 1e-6


def _r2(pred: torch.Tensor, target: torch.Tensor) -> float:
    total = (target - target.mean()).pow(2).sum()
    return float(1 - (pred - target).pow(2).sum() / total.clamp_min(1e-30))


def bayes_outputs(c: torch.Tensor, mean: torch.Tensor, t: int, sd: float) -> torch.Tensor:
    """Φ(√t·C m_t/σ): c (N, D), mean (n, D) → (n, N), float64."""
    return torch.special.ndtr(math.sqrt(t) * (mean.double() @ c.double().T) / sd)


def probit_of_logits(logits: torch.Tensor) -> torch.Tensor:
    """Φ⁻¹(sigmoid(l)) without forming the saturated probability: with q = sigmoid(−|l|) (the
    smaller tail, exact in float64 down to 10⁻³⁰⁰), Φ⁻¹ = sign(l)·(−Φ⁻¹(q))."""
    v = logits.double()
    return torch.sign(v) * -torch.special.ndtri(torch.sigmoid(-v.abs()))


def closed_form_mean(c: torch.Tensor, probits: torch.Tensor, t: int, sd: float) -> torch.Tensor:
    """μ = (CᵀC)⁻¹Cᵀ(σ/√t)·z with z = Φ⁻¹(Ŷ) the outputs' probits (least squares; the theorem's
    form for N ≥ D): probits (n, N) → (n, D), float64. Taking the probits, not Ŷ, keeps the form
    exact where Ŷ rounds to 1 (at the task's scale √t·cᵀm/σ reaches 15, Φ of which is 1 − 10⁻⁵⁵)."""
    z = probits.double() * sd / math.sqrt(t)
    return torch.linalg.lstsq(c.double(), z.T).solution.T


@torch.no_grad()
def trained_output_rows(
    model,
    readout,
    encoder,
    task: TaskSpec,
    members: list[tuple[int, int]],
    boundaries: list[torch.Tensor],
    x: torch.Tensor,
    noise: torch.Tensor,
    steps: list[int],
    chunk: int = 2048,
) -> list[dict]:
    """Rows (n_tasks, seed, steps, metric, value) for every network and stimulus duration t in
    ``steps`` (each ≤ the task's T), on trials x (n, D) with noise (n, T, D)."""
    if task.loss != "bce" or task.boundaries not in LINEAR_BOUNDARIES:
        raise ValueError(
            "trained outputs vs Bayes: the sigmoid/BCE read-out on boundaries through the origin "
            f"is what the theorem describes (got loss {task.loss!r}, boundaries "
            f"{task.boundaries!r})"
        )
    if task.noise != "gaussian":
        raise ValueError(f"trained outputs vs Bayes: Gaussian noise only (got {task.noise!r})")
    device = next(model.parameters()).device
    k = len(members)
    rows = []
    for t in steps:
        if not 1 <= t <= task.stimulus_steps:
            raise ValueError(f"steps: {t} is not in 1..{task.stimulus_steps}")
        spec = dataclasses.replace(task, stimulus_steps=t)
        inputs = member_inputs(encoder, spec, x, noise[:, :t], device, chunk)
        # the decision step's logits (K, chunk, N_max) of each chunk
        outs = [readout(model(u))[:, :, -1].cpu() for u in inputs]
        logits = torch.cat(outs, dim=1)
        mean = (x + noise[:, :t].mean(dim=1)).double()  # the flat-prior posterior mean m_t
        for i in range(k):
            n_tasks, seed = members[i]
            c = boundaries[i][:n_tasks]
            bayes = bayes_outputs(c, mean, t, task.noise_sd)
            bayes_probits = math.sqrt(t) * (mean @ c.double().T) / task.noise_sd
            net_logits = logits[i, :, :n_tasks]
            net = torch.sigmoid(net_logits.double())
            p, q = bayes.clamp(CLIP, 1 - CLIP), net.clamp(CLIP, 1 - CLIP)
            kl = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))
            values = {
                "output_r2": _r2(net, bayes),
                "output_kl": float(kl.mean()),
                "mu_r2": _r2(
                    closed_form_mean(c, probit_of_logits(net_logits), t, task.noise_sd), mean
                ),
                "mu_r2_bayes": _r2(closed_form_mean(c, bayes_probits, t, task.noise_sd), mean),
            }
            for metric, value in values.items():
                rows.append(
                    {"n_tasks": n_tasks, "seed": seed, "steps": t, "metric": metric, "value": value}
                )
    return rows
