"""Checks of the theorem's read-outs (docs/replication.md, "Theory checks": reconstruction, and μ
read linearly from the logits) as tidy tables.

- ``reconstruction_table``: trilateration μ = C⁺(σ/√t·diag(‖c_i‖)·Φ⁻¹(Ŷ) + b) recovers μ from the
  exact optimal outputs at float64 precision when rank C = D, and exactly the projection of μ onto
  C's row space when N < D. Φ⁻¹ is computed in log space, from log Ŷ (``reconstruct_mu_log``); the
  float64-probability route (Φ⁻¹ of Ŷ itself, ``reconstruct_mu``) is measured beside it. Regime
  ``bounded`` keeps the probit arguments moderate (|z| ≲ 4, where both routes are exact); regime
  ``task`` uses the paper's task (x* ~ U(−½, ½)^D, σ = 0.2, t = 1..20 samples, b = 0), where |z|
  reaches ~20: Ŷ rounds to exactly 1 beyond z ≈ 8.2 and the probability route only bounds μ, while
  the log route stays exact.
- ``linear_decoder_table``: the linear read-out from logits, μ ≈ C⁺[(κσ/√t)·diag(‖c_i‖)·Z + b],
  for the candidate κ and the least-squares best κ (flat prior); and the paper's check 5, linear
  decoders of μ and x* from the logits of the Bayes-optimal classifier under the uniform prior
  (D = 2, evenly spaced boundaries, σ = 0.2, T = 20), r² = 1 − mse/(1/12): a fitted affine
  decoder beside the κ-formula for every candidate κ, also over a grid of σ and t that shows
  where the formula holds (wide posteriors, moderate logits).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from disentangle.prior import VAR_U
from disentangle.seeding import generator
from disentangle.tasks import boundary_normals
from disentangle.theory.bayes import uniform_prior_logits_2d, uniform_prior_posterior_mean
from disentangle.theory.closed_form import (
    F64,
    matrix_rank_and_condition,
    optimal_log_outputs,
    optimal_outputs,
    optimal_probits,
    probit_logits,
    reconstruct_mu,
    reconstruct_mu_log,
    row_space_projection,
    trilaterate,
)
from disentangle.theory.sigmoid import KAPPAS

REGIMES = ("bounded", "task")
ROW_KINDS = ("unit", "raw")


TASK_SIGMA, TASK_STEPS = 0.2, 20  # the paper's task: noise sd per step, samples per trial
# (σ, t) of check 5's regime sweep: the task's σ with shorter trials, and one sample with larger σ
REGIME = tuple((TASK_SIGMA, t) for t in (1, 2, 3, 5, 10)) + tuple(
    (sg, 1) for sg in (0.3, 0.4, 0.6, 0.8)
)


def _draw_problem(
    kind: str, regime: str, dim: int, n: int, n_points: int, g: torch.Generator, draw: int
):
    """One random (C, b, σ, t, μ) for ``reconstruction_table``; in regime ``task`` the first draw
    is a full trial (t = 20 samples) and later ones draw t from 1..20."""
    c = torch.randn((n, dim), generator=g, dtype=F64)
    if kind == "unit":
        c = c / c.norm(dim=1, keepdim=True)
    else:  # un-normalised rows with norms spread over two decades
        c = c * 10.0 ** (2.0 * torch.rand((n, 1), generator=g, dtype=F64) - 1.0)
    if regime == "bounded":
        sigma = 0.05 + 0.95 * float(torch.rand((), generator=g, dtype=F64))
        t = int(torch.randint(1, 51, (), generator=g))
        s = sigma / math.sqrt(t)
        centre = torch.rand(dim, generator=g, dtype=F64) - 0.5
        mu = centre + 0.8 * s * torch.randn((n_points, dim), generator=g, dtype=F64)
        b = c @ centre + 0.5 * s * c.norm(dim=1) * torch.randn(n, generator=g, dtype=F64)
    else:
        sigma, t = TASK_SIGMA, int(torch.randint(1, TASK_STEPS + 1, (), generator=g))
        t = TASK_STEPS if draw == 0 else t
        x = torch.rand((n_points, dim), generator=g, dtype=F64) - 0.5
        mu = x + sigma / math.sqrt(t) * torch.randn((n_points, dim), generator=g, dtype=F64)
        b = torch.zeros(n, dtype=F64)
    return c, b, sigma, t, mu


def reconstruction_table(
    seed: int,
    n_draws: int,
    dims: tuple[int, ...] = tuple(range(2, 11)),
    extra_tasks: int = 2,
    n_points: int = 16,
) -> pd.DataFrame:
    """Errors of the trilateration of μ from its optimal outputs for N = 1..2D + ``extra_tasks``
    random boundaries, unit and raw rows, both regimes, ``n_draws`` draws of (C, b, σ, t) with
    ``n_points`` μ each. Metrics: err_mu and err_projection (max abs error vs μ and vs its
    row-space projection) of the log-space route ``reconstruct_mu_log(log Ŷ)``; the same two of
    the float64-probability route ``reconstruct_mu(Ŷ)`` as err_mu_probability and
    err_projection_probability; max_abs_z, saturated_fraction (share of Ŷ that float64 rounds to
    exactly 0 or 1), rank, condition."""
    if n_draws < 1 or n_points < 1 or extra_tasks < 0 or any(d < 1 for d in dims):
        raise ValueError(
            f"n_draws = {n_draws}, n_points = {n_points}, extra_tasks = {extra_tasks}, dims = "
            f"{dims}: expected n_draws, n_points >= 1, extra_tasks >= 0, D >= 1"
        )
    rows = []
    for dim in dims:
        for n in range(1, 2 * dim + extra_tasks + 1):
            for kind in ROW_KINDS:
                for regime in REGIMES:
                    g = generator("theory-reconstruction", seed, dim, n, kind, regime)
                    for draw in range(n_draws):
                        c, b, sigma, t, mu = _draw_problem(kind, regime, dim, n, n_points, g, draw)
                        y = optimal_outputs(mu, c, b, sigma, t)
                        est = reconstruct_mu_log(
                            optimal_log_outputs(mu, c, b, sigma, t), c, b, sigma, t
                        )
                        naive = reconstruct_mu(y, c, b, sigma, t)
                        proj = row_space_projection(mu, c)
                        rank, cond = matrix_rank_and_condition(c)
                        z = optimal_probits(mu, c, b, sigma, t)
                        measured = {
                            "err_mu": float((est - mu).abs().max()),
                            "err_projection": float((est - proj).abs().max()),
                            "err_mu_probability": float((naive - mu).abs().max()),
                            "err_projection_probability": float((naive - proj).abs().max()),
                            "max_abs_z": float(z.abs().max()),
                            "saturated_fraction": float(((y == 0) | (y == 1)).to(F64).mean()),
                            "rank": float(rank),
                            "condition": cond,
                        }
                        base = {
                            "regime": regime,
                            "rows": kind,
                            "dim": dim,
                            "n_tasks": n,
                            "draw": draw,
                            "sigma": sigma,
                            "steps": t,
                        }
                        rows += [base | {"metric": k, "value": v} for k, v in measured.items()]
    return pd.DataFrame(rows)


def best_kappa(c: torch.Tensor, b: torch.Tensor, logits: torch.Tensor, scale: float, mu):
    """Least-squares κ of the logit decoder μ ≈ C⁺[κ·scale·diag(‖c_i‖)·Z + b] (closed form, the
    decoder is affine in κ)."""
    slope = trilaterate(c, scale * c.norm(dim=1) * logits)
    offset = trilaterate(c, b.expand_as(logits))
    return float((slope * (mu - offset)).sum() / (slope * slope).sum())


def _errors(est: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    mse = float(((est - target) ** 2).mean())
    return {
        "max_abs_err": float((est - target).abs().max()),
        "rmse": math.sqrt(mse),
        "r2": 1.0 - mse / VAR_U,
    }


def _flat_prior_rows(seed, n, dims, task_factors, sigmas, steps) -> list[dict]:
    rows = []
    for dim in dims:
        for factor in task_factors:
            n_tasks = factor * dim
            for sigma in sigmas:
                for t in steps:
                    g = generator("theory-linear-decoder", seed, dim, n_tasks, str(sigma), t)
                    c = torch.randn((n_tasks, dim), generator=g, dtype=F64)
                    c = c / c.norm(dim=1, keepdim=True)
                    b = torch.zeros(n_tasks, dtype=F64)
                    s = sigma / math.sqrt(t)
                    x = torch.rand((n, dim), generator=g, dtype=F64) - 0.5
                    mu = x + s * torch.randn((n, dim), generator=g, dtype=F64)
                    probits = optimal_probits(mu, c, b, sigma, t)
                    logits = probit_logits(probits)
                    base = {
                        "part": "flat_prior",
                        "prior": "flat",
                        "dim": dim,
                        "n_tasks": n_tasks,
                        "sigma": sigma,
                        "steps": t,
                        "target": "mu",
                    }
                    spread = {
                        "max_abs_probit": float(probits.abs().max()),
                        "max_abs_logit": float(logits.abs().max()),
                    }
                    rows += [
                        base | {"decoder": "none", "kappa": math.nan, "metric": k, "value": v}
                        for k, v in spread.items()
                    ]
                    named = dict(KAPPAS) | {"best": best_kappa(c, b, logits, s, mu)}
                    for name, kappa in named.items():
                        est = trilaterate(c, kappa * s * c.norm(dim=1) * logits + b)
                        rows += [
                            base | {"decoder": name, "kappa": kappa, "metric": k, "value": v}
                            for k, v in _errors(est, mu).items()
                        ]
    return rows


def _fit_affine(features: torch.Tensor, target: torch.Tensor):
    """Least-squares affine map features (n, F) → target (n, D); returns a predictor."""
    ones = torch.ones((features.shape[0], 1), dtype=F64)
    w = torch.linalg.lstsq(torch.cat([features, ones], 1), target, driver="gelsd").solution
    return lambda f: torch.cat([f, torch.ones((f.shape[0], 1), dtype=F64)], 1) @ w


def _uniform_prior_rows(seed, n, settings: dict[tuple[float, int], tuple[int, ...]]) -> list[dict]:
    """Rows of part ``uniform_prior`` for every (σ, t) → task counts in ``settings``. The trials
    x* and the standard noise ε are drawn once (train and test halves) and shared by every (σ, t),
    μ = x* + σ/√t·ε, so that the curves over (σ, t) differ by the posterior width alone."""
    rows = []
    g = generator("theory-check5", seed)
    x = torch.rand((2, n, 2), generator=g, dtype=F64) - 0.5  # (train/test, n, D)
    eps = torch.randn((2, n, 2), generator=g, dtype=F64)
    for (sigma, t), n_tasks_list in settings.items():
        s = sigma / math.sqrt(t)
        mu = x + s * eps
        posterior = uniform_prior_posterior_mean(mu[1], sigma, t)
        base = {"part": "uniform_prior", "dim": 2, "sigma": sigma, "steps": t}
        for target_name, target in (("x_star", x), ("mu", mu)):
            rows.append(
                base
                | {"prior": "uniform", "n_tasks": 0, "decoder": "posterior_mean"}
                | {"kappa": math.nan, "target": target_name, "metric": "r2"}
                | {"value": _errors(posterior, target[1])["r2"]}
            )
        for n_tasks in n_tasks_list:
            c = boundary_normals(n_tasks, 2, "even", 0).to(F64)
            b = torch.zeros(n_tasks, dtype=F64)
            logits = {
                "uniform": torch.stack([uniform_prior_logits_2d(m, c, b, sigma, t) for m in mu]),
                "flat": probit_logits(optimal_probits(mu, c, b, sigma, t)),
            }
            for prior, z in logits.items():
                here = base | {"prior": prior, "n_tasks": n_tasks}
                spread = {
                    "max_abs_logit": float(z[1].abs().max()),
                    "median_abs_logit": float(z[1].abs().median()),
                }
                rows += [
                    here
                    | {"decoder": "none", "kappa": math.nan, "target": "none", "metric": k}
                    | {"value": v}
                    for k, v in spread.items()
                ]
                for target_name, target in (("x_star", x), ("mu", mu)):
                    # the theorem's read-out for every candidate κ and for the training half's
                    # least-squares κ, and an affine decoder fitted on the training half
                    named = dict(KAPPAS) | {"best": best_kappa(c, b, z[0], s, target[0])}
                    decoded = {
                        name: (kappa, trilaterate(c, kappa * s * c.norm(dim=1) * z[1] + b))
                        for name, kappa in named.items()
                    }
                    decoded["lstsq"] = (math.nan, _fit_affine(z[0], target[0])(z[1]))
                    rows += [
                        here
                        | {"decoder": name, "kappa": kappa, "target": target_name, "metric": "r2"}
                        | {"value": _errors(est, target[1])["r2"]}
                        for name, (kappa, est) in decoded.items()
                    ]
    return rows


def linear_decoder_table(
    seed: int,
    n: int,
    dims: tuple[int, ...] = (2, 5),
    task_factors: tuple[int, ...] = (1, 2, 4),
    sigmas: tuple[float, ...] = (0.1, 0.2, 0.4),
    steps: tuple[int, ...] = (1, 5, 20),
    uniform_tasks: tuple[int, ...] = (2, 3, 6, 12, 24),
    check_sigma: float = TASK_SIGMA,
    check_steps: int = TASK_STEPS,
    regime: tuple[tuple[float, int], ...] = REGIME,
    regime_tasks: tuple[int, ...] = (6,),
) -> pd.DataFrame:
    """Tidy errors of the linear logit decoder. Part ``flat_prior``: per (D, N = factor·D, σ, t)
    and κ (``KAPPAS`` and the least-squares ``best``), max_abs_err, rmse and r² vs μ over ``n``
    trials (random unit rows, b = 0). Part ``uniform_prior`` (check 5, D = 2, even boundaries),
    from the uniform-prior Bayes logits and the flat-prior logits, for targets x* and μ: r² of a
    fitted affine decoder (``lstsq``, ``n`` training and ``n`` test trials), of the theorem's
    κ-formula read-out μ̂ = κ·σ/√t·C⁺(Z + b) for every κ in ``KAPPAS``, and of the formula with
    the training half's least-squares κ (``best``); plus max_abs_logit and median_abs_logit
    (decoder and target ``none``); the Bayes posterior mean (n_tasks = 0) is the reference ceiling.
    It covers the task's (``check_sigma``, ``check_steps``) with N in ``uniform_tasks`` and every
    (σ, t) in ``regime`` with N in ``regime_tasks``: where the posterior width σ/√t is small the
    logits reach ~z²/2 and the κ-formula fails, where it is wide the logits stay moderate and the
    formula approaches the fitted decoder."""
    if n < 2 or any(d < 1 for d in dims) or any(f < 1 for f in task_factors):
        raise ValueError(
            f"n = {n}, dims = {dims}, task_factors = {task_factors}: expected >= 2, 1, 1"
        )
    if any(k < 2 for k in uniform_tasks):
        raise ValueError(f"uniform_tasks = {uniform_tasks}: expected N >= 2 (full rank in D = 2)")
    rows = _flat_prior_rows(seed, n, dims, task_factors, sigmas, steps)
    if any(sg <= 0 or t < 1 for sg, t in regime) or any(k < 2 for k in regime_tasks):
        raise ValueError(
            f"regime = {regime}, regime_tasks = {regime_tasks}: expected σ > 0, t >= 1, N >= 2"
        )
    settings = {(float(sg), int(t)): tuple(regime_tasks) for sg, t in regime}
    check = (float(check_sigma), int(check_steps))
    settings[check] = tuple(sorted(set(uniform_tasks) | set(settings.get(check, ()))))
    rows += _uniform_prior_rows(seed, n, settings)
    return pd.DataFrame(rows)
