"""Angles between the linear read-out axes of the latents (the paper's Fig. 3c and S12;
docs/replication.md, "Decoder-axis angles" and "Decisions").

For a decoder weight W (H, D), column j is the read-out direction of x*_j; the angle between
columns i < j (degrees, upper triangle) is ≈ 90° for a disentangled (orthogonal) code. The
minimum-norm least-squares decoder is dominated by near-null directions of rank-deficient ReLU or
LayerNorm states and gives meaningless 0°/180° angles; a moderately regularised decoder (the
authors' Adam decoder is implicitly one) gives the meaningful angle. ``angle_vs_penalty`` fits
ridge decoders over a range of penalties (``disentangle.metrics.ood.fit_ridge``: penalty relative
to the mean squared centred activity) to show the angle is stable across it.

``ideal_code_decoder`` gives each network's own prediction: the same ridge decoder fitted to the
code the theory says an optimal network holds, the logits z = C·μ of its N boundaries (Theorem
3.1; μ the posterior mean, x* plus evidence noise of variance σ²/T), in closed form from the
population covariances. For evenly spaced 2-D boundaries CᵀC = (N/2)·I and its axes are at 90°
for every N; for random boundaries they scatter around 90° as much as C's Gram matrix departs
from a multiple of I, which shrinks as N/D grows. Fig. S12 compares every trained network's
angles, pair by pair, with this prediction for its own C.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from disentangle.metrics.ood import fit_ridge, r2_paper

DEFAULT_PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1)


def axis_pairs(dim: int) -> list[tuple[int, int]]:
    """The column pairs (i, j), i < j, in the order ``axis_angles`` reports them (row-major)."""
    rows, cols = torch.triu_indices(dim, dim, offset=1)
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def axis_angles(weight: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between every pair of columns i < j of a decoder weight (..., H, D):
    (..., D(D−1)/2) in ``axis_pairs`` order. A zero column gives NaN."""
    if weight.ndim < 2 or weight.shape[-1] < 2:
        raise ValueError(f"weight of shape {tuple(weight.shape)}: expected (..., H, D), D >= 2")
    w = weight.detach().to(torch.float64)
    norms = w.norm(dim=-2, keepdim=True)  # (..., 1, D)
    unit = w / torch.where(norms > 0, norms, torch.nan)
    cos = (unit.transpose(-1, -2) @ unit).clamp(-1.0, 1.0)  # (..., D, D)
    i, j = torch.triu_indices(w.shape[-1], w.shape[-1], offset=1)
    return torch.rad2deg(torch.arccos(cos[..., i, j]))


def ideal_code_decoder(
    boundaries: torch.Tensor, x_cov: torch.Tensor, noise_var: float, penalty: float
) -> torch.Tensor:
    """The ridge decoder (N, D) of x* from the ideal code z = C·μ, μ = x* + ε, ε ~ N(0, s²·I)
    independent of x*, at infinite sample size: W = (Σ_z + λ·mean(diag Σ_z)·I)⁻¹·Σ_zx with
    Σ_z = C(Σ_x + s²I)Cᵀ and Σ_zx = CΣ_x, the population form of ``fit_ridge`` (the same relative
    penalty; 0 gives the minimum-norm solution). ``boundaries`` C (N, D), ``x_cov`` Σ_x (D, D),
    ``noise_var`` s² = σ²/T. The relative penalty is scaled by the mean variance of the N logits
    here and of the H units in a network: "the same penalty" is so only up to that factor, which
    moves the angles little at the workflow's 0.01 (``tests/test_analysis_geometry.py``)."""
    c = torch.as_tensor(boundaries, dtype=torch.float64)
    cov = torch.as_tensor(x_cov, dtype=torch.float64)
    if c.ndim != 2 or cov.shape != (c.shape[1], c.shape[1]):
        raise ValueError(
            f"boundaries {tuple(c.shape)} and x_cov {tuple(cov.shape)}: expected (N, D) and (D, D)"
        )
    if not all(math.isfinite(v) and v >= 0 for v in (noise_var, penalty)):
        raise ValueError(f"noise_var = {noise_var}, penalty = {penalty}: expected numbers >= 0")
    d = c.shape[1]
    sigma_z = c @ (cov + noise_var * torch.eye(d, dtype=torch.float64)) @ c.T
    scale = sigma_z.diagonal().mean().clamp_min(1e-12)
    if penalty == 0:  # the minimum-norm solution, as fit_ridge's lstsq
        return torch.linalg.pinv(sigma_z, hermitian=True) @ (c @ cov)
    eye = torch.eye(c.shape[0], dtype=torch.float64)
    return torch.linalg.solve(sigma_z + penalty * scale * eye, c @ cov)


def angle_vs_penalty(
    states: torch.Tensor,
    x: torch.Tensor,
    penalties: tuple[float, ...] | list[float] = DEFAULT_PENALTIES,
    boundaries: torch.Tensor | None = None,
    noise_var: float = 0.0,
) -> pd.DataFrame:
    """Ridge decoders of latents x (n, D) from one network's states (n, H), one per penalty: the
    angle between each pair of read-out axes, with the decoder's training r² (paper's Var_U).
    Columns: penalty, i, j, angle, train_r2; with the network's ``boundaries`` (N, D) also
    ideal_angle, the same pair's angle for ``ideal_code_decoder`` at the same penalty (x's
    covariance from the same trials, evidence noise variance ``noise_var``)."""
    if states.ndim != 2 or x.ndim != 2 or states.shape[0] != x.shape[0]:
        raise ValueError(
            f"states {tuple(states.shape)} and x {tuple(x.shape)}: expected (n, H) and (n, D)"
        )
    if x.shape[1] < 2:
        raise ValueError(f"x has D = {x.shape[1]}: angles need D >= 2")
    if len(penalties) == 0 or any(not math.isfinite(p) or p < 0 for p in penalties):
        raise ValueError(f"penalties = {penalties}: expected a non-empty list of numbers >= 0")
    everything = torch.ones((1, x.shape[0]), dtype=torch.bool)
    pairs = axis_pairs(x.shape[1])
    if boundaries is not None:  # x's covariance on these trials, for every penalty's prediction
        x_cov = torch.cov(x.cpu().double().T).reshape(x.shape[1], x.shape[1])
    rows = []
    for penalty in penalties:
        w, b = fit_ridge(states[None].cpu(), x.cpu(), everything, 1, float(penalty))
        w, b = w[0, 0, 0], b[0, 0, 0]  # (H, D), (D,)
        r2 = float(r2_paper(states.cpu().float() @ w + b, x.cpu().float()))
        ideal = [math.nan] * len(pairs)
        if boundaries is not None:
            ideal = axis_angles(ideal_code_decoder(boundaries, x_cov, noise_var, penalty)).tolist()
        for (i, j), angle, pred in zip(pairs, axis_angles(w).tolist(), ideal, strict=True):
            row = {"penalty": float(penalty), "i": i, "j": j, "angle": angle, "train_r2": r2}
            if boundaries is not None:
                row["ideal_angle"] = pred
            rows.append(row)
    return pd.DataFrame(rows)
