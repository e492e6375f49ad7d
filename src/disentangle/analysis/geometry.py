"""Angles between the linear read-out axes of the latents (the paper's Fig. 3c and S12;
REPLICATION.md 3.2 and "Decisions").

For a decoder weight W (H, D), column j is the read-out direction of x*_j; the angle between
columns i < j (degrees, upper triangle) is ≈ 90° for a disentangled (orthogonal) code. The
minimum-norm least-squares decoder is dominated by near-null directions of rank-deficient ReLU or
LayerNorm states and gives meaningless 0°/180° angles; a moderately regularised decoder (the
authors' Adam decoder is implicitly one) gives the meaningful angle. ``angle_vs_penalty`` fits
ridge decoders over a range of penalties (``disentangle.metrics.ood.fit_ridge``: penalty relative
to the mean squared centred activity) to show the angle is stable across it.
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


def angle_vs_penalty(
    states: torch.Tensor,
    x: torch.Tensor,
    penalties: tuple[float, ...] | list[float] = DEFAULT_PENALTIES,
) -> pd.DataFrame:
    """Ridge decoders of latents x (n, D) from one network's states (n, H), one per penalty: the
    angle between each pair of read-out axes, with the decoder's training r² (paper's Var_U).
    Columns: penalty, i, j, angle, train_r2."""
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
    rows = []
    for penalty in penalties:
        w, b = fit_ridge(states[None].cpu(), x.cpu(), everything, 1, float(penalty))
        w, b = w[0, 0, 0], b[0, 0, 0]  # (H, D), (D,)
        r2 = float(r2_paper(states.cpu().float() @ w + b, x.cpu().float()))
        for (i, j), angle in zip(pairs, axis_angles(w).tolist(), strict=True):
            rows.append({"penalty": float(penalty), "i": i, "j": j, "angle": angle, "train_r2": r2})
    return pd.DataFrame(rows)
