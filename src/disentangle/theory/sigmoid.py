"""Probit vs logit: how well Φ(κ·z) approximates the logistic sigmoid (docs/replication.md,
"Theory checks").

The linear read-out of the theorem needs Φ⁻¹(g(z)) ≈ κ·z for the network's output nonlinearity g.
This module reproduces the authors' MATLAB check ``sigmoid_approx_gaussianCDF.m`` (least-squares
fit of a, b in Φ(a·z + b) ≈ logistic(z) over 1000 points on [−T, T], started from (1, 0); here with
a damped Gauss–Newton solver in float64 instead of fminsearch) and measures the worst-case error of
the candidate slopes κ = √(π/8) (slope match at 0), 1/1.70 (the classic constant), √3/π (variance
match) and the poster's 2√3/π, which is the variance match for a slope-2 sigmoid (½(1 + tanh z)),
not for the logistic.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from disentangle.theory.closed_form import F64, normal_cdf, normal_pdf

KAPPAS: dict[str, float] = {
    "sqrt(pi/8)": math.sqrt(math.pi / 8.0),
    "1/1.70": 1.0 / 1.70,
    "sqrt(3)/pi": math.sqrt(3.0) / math.pi,
    "2*sqrt(3)/pi": 2.0 * math.sqrt(3.0) / math.pi,
}
TARGET_SLOPES: dict[str, float] = {"logistic": 1.0, "logistic_slope2": 2.0}


def fit_probit_to_logistic(
    half_range: float, n_points: int = 1000, max_iter: int = 200
) -> tuple[float, float, float]:
    """Least-squares (a, b) of Φ(a·z + b) ≈ logistic(z) on ``n_points`` evenly spaced z in
    [−half_range, half_range], from (1, 0); returns (a, b, mean absolute error)."""
    if half_range <= 0 or n_points < 2:
        raise ValueError(f"half_range = {half_range}, n_points = {n_points}: expected > 0 and >= 2")
    z = torch.linspace(-half_range, half_range, n_points, dtype=F64)
    target = torch.sigmoid(z)
    params = torch.tensor([1.0, 0.0], dtype=F64)
    damping = 1e-3

    def sse(p: torch.Tensor) -> float:
        return float(((normal_cdf(p[0] * z + p[1]) - target) ** 2).sum())

    loss = sse(params)
    for _ in range(max_iter):
        x = params[0] * z + params[1]
        resid = normal_cdf(x) - target
        jac = normal_pdf(x)[:, None] * torch.stack([z, torch.ones_like(z)], dim=1)
        gram = jac.T @ jac
        step = torch.linalg.solve(gram + damping * torch.diag(gram.diagonal()), -jac.T @ resid)
        trial = sse(params + step)
        if float(step.abs().max()) < 1e-12:
            break
        if trial <= loss:
            params, loss, damping = params + step, trial, damping / 3.0
        else:
            damping *= 3.0
    mae = float((normal_cdf(params[0] * z + params[1]) - target).abs().mean())
    return float(params[0]), float(params[1]), mae


def probit_max_error(kappa: float, slope: float = 1.0, half_range: float = 20.0, n: int = 8001):
    """max |Φ(κ·z) − logistic(slope·z)| over ``n`` evenly spaced z in [−half_range, half_range]."""
    z = torch.linspace(-half_range, half_range, n, dtype=F64)
    return float((normal_cdf(kappa * z) - torch.sigmoid(slope * z)).abs().max())


def minimax_kappa(slope: float = 1.0, half_range: float = 20.0, n: int = 8001) -> float:
    """The κ minimising ``probit_max_error``: a grid over κ ∈ slope·[0.4, 0.8], then golden-section
    refinement between the grid neighbours of the best point."""
    grid = slope * torch.linspace(0.4, 0.8, 81, dtype=F64)
    z = torch.linspace(-half_range, half_range, n, dtype=F64)
    errs = (normal_cdf(grid[:, None] * z) - torch.sigmoid(slope * z)).abs().amax(dim=1)
    i = int(errs.argmin())
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, len(grid) - 1)])
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(40):
        m1, m2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if probit_max_error(m1, slope, half_range, n) < probit_max_error(m2, slope, half_range, n):
            hi = m2
        else:
            lo = m1
    return (lo + hi) / 2.0


def sigmoid_table(
    ranges: tuple[float, ...] = (0.5, 1, 5, 10, 100),
    n_points: int = 1000,
    wide_range: float = 20.0,
    n_wide: int = 8001,
) -> pd.DataFrame:
    """Tidy table of the probit-to-logistic fits (part ``fit``: a, 1/a, b, mae per range) and of
    the worst-case error of each κ in ``KAPPAS`` plus the minimax κ on [−wide_range, wide_range]
    against the logistic and the slope-2 logistic (part ``kappa``: kappa, max_abs_err)."""
    if any(r <= 0 for r in ranges):
        raise ValueError(f"ranges = {ranges}: expected positive half-ranges T")
    rows = []
    for half in ranges:
        a, b, mae = fit_probit_to_logistic(float(half), n_points)
        for metric, value in (("a", a), ("inv_a", 1.0 / a), ("b", b), ("mae", mae)):
            row = {"part": "fit", "target": "logistic", "range": float(half), "kappa_name": "lsq"}
            rows.append(row | {"metric": metric, "value": value})
    for target, slope in TARGET_SLOPES.items():
        named = dict(KAPPAS) | {"minimax": minimax_kappa(slope, wide_range, n_wide)}
        for name, kappa in named.items():
            err = probit_max_error(kappa, slope, wide_range, n_wide)
            base = {"part": "kappa", "target": target, "range": wide_range, "kappa_name": name}
            rows.append(base | {"metric": "kappa", "value": kappa})
            rows.append(base | {"metric": "max_abs_err", "value": err})
    return pd.DataFrame(rows)
