"""Orthogonality of the factor directions for many tasks (Theorem 3.1 part 3;
docs/replication.md, "Theory checks").

In logit space Z ≈ (√t/(κσ))·(C·μ − b), so factor j is encoded along column j of C (an N-vector).
For random unit rows the columns become orthogonal as N grows, |cos| ~ 1/√N; evenly spaced 2-D
boundaries φ_i = (i + ½)π/N give CᵀC = (N/2)·I, exactly orthogonal for every N ≥ 2.
Defaults: D ∈ {2, 4, 6, 8, 10}, N ∈ {2, 3, 6, 9, 12, 24, 48, 96}; random rows ~ N(0, I) normalised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from disentangle.seeding import generator
from disentangle.tasks import boundary_normals
from disentangle.theory.closed_form import F64, as_f64


def column_angles(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Angles in degrees between every pair of columns of C (..., N, D): returns the pairs (P, 2)
    (j < k) and the angles (..., P)."""
    c = as_f64(c, "C")
    if c.ndim < 2 or c.shape[-1] < 2:
        raise ValueError(f"C has shape {tuple(c.shape)}: expected (..., N, D) with D >= 2")
    cols = c / c.norm(dim=-2, keepdim=True)
    gram = cols.transpose(-1, -2) @ cols
    pairs = torch.triu_indices(c.shape[-1], c.shape[-1], offset=1)
    cos = gram[..., pairs[0], pairs[1]].clamp(-1.0, 1.0)
    return pairs.T, torch.rad2deg(torch.arccos(cos))


def random_unit_rows(n_draws: int, n_tasks: int, dim: int, g: torch.Generator) -> torch.Tensor:
    """``n_draws`` matrices (n_draws, N, D) with rows ~ N(0, I_D) normalised to unit length."""
    c = torch.randn((n_draws, n_tasks, dim), generator=g, dtype=F64)
    return c / c.norm(dim=-1, keepdim=True)


def orthogonality_table(
    seed: int,
    n_draws: int,
    dims: tuple[int, ...] = (2, 4, 6, 8, 10),
    n_tasks: tuple[int, ...] = (2, 3, 6, 9, 12, 24, 48, 96),
) -> pd.DataFrame:
    """Tidy angles between the factor directions: one row per (boundaries, D, N, draw, pair) with
    metric ``angle_deg``; random unit rows for every D, and the evenly spaced 2-D boundaries
    (``boundaries = 'even'``, draw 0, from ``disentangle.tasks.boundary_normals``) for N ≥ 2."""
    if n_draws < 1:
        raise ValueError(f"n_draws = {n_draws}: expected >= 1")
    if any(d < 2 for d in dims) or any(n < 1 for n in n_tasks):
        raise ValueError(f"dims = {dims}, n_tasks = {n_tasks}: expected D >= 2 and N >= 1")
    frames = []

    def add(kind: str, dim: int, n: int, c: torch.Tensor) -> None:
        pairs, angles = column_angles(c)  # (P, 2), (draws, P)
        draws, n_pairs = angles.shape
        frames.append(
            pd.DataFrame(
                {
                    "boundaries": kind,
                    "dim": dim,
                    "n_tasks": n,
                    "draw": np.repeat(np.arange(draws), n_pairs),
                    "factor_j": np.tile(pairs[:, 0].numpy(), draws),
                    "factor_k": np.tile(pairs[:, 1].numpy(), draws),
                    "metric": "angle_deg",
                    "value": angles.reshape(-1).numpy(),
                }
            )
        )

    for dim in dims:
        for n in n_tasks:
            add(
                "random",
                dim,
                n,
                random_unit_rows(n_draws, n, dim, generator("theory-orthogonality", seed, n, dim)),
            )
    for n in n_tasks:
        if n >= 2:
            add("even", 2, n, boundary_normals(n, 2, "even", 0).to(F64)[None])
    return pd.concat(frames, ignore_index=True)
