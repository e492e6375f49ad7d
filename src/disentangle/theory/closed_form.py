"""The flat-prior closed forms of the paper's theory (Vafidis, Bhargava & Rangel, ICLR 2025,
Theorem 3.1 / B.6; docs/replication.md, "Theory checks"), as pure float64 functions on torch
tensors.

Setup: evidence X(t) = x* + ε_t with ε_t ~ N(0, σ²I); tasks y_i = 1[c_iᵀx* > b_i] with C (N, D)
and b (N,). With a flat prior the posterior after t samples is N(μ(t), σ²/t·I), μ(t) the running
mean, so the Bayes-optimal multi-task output is Ŷ_i = Φ(√t·(c_iᵀμ − b_i)/(σ‖c_i‖)). Inverting Φ
gives the signed distances of μ to every boundary, and a least-squares solve of the N distance
equations ("trilateration") returns μ: μ = (CᵀC)⁻¹Cᵀ(σ/√t·diag(‖c_i‖)·Φ⁻¹(Ŷ) + b). For N < D (or
any rank-deficient C) the minimum-norm solution is returned: the projection of μ onto C's row space.
"""

from __future__ import annotations

import math

import torch
from torch.special import erfc, log_ndtr, ndtri

F64 = torch.float64
# Ŷ is clipped into [TINY, ONE_MINUS] before Φ⁻¹: the smallest normal float64 and the largest
# float64 below 1. Only outputs that are exactly 0 or 1 move, i.e. probit arguments below ≈ −37.5
# or above ≈ 8.2, where float64 has already rounded Φ to 0 or 1 and μ is no longer recoverable.
TINY = torch.finfo(F64).tiny
ONE_MINUS = 1.0 - 2.0**-53
SQRT_HALF = math.sqrt(0.5)


def as_f64(x: torch.Tensor | float, name: str) -> torch.Tensor:
    """``x`` as a float64 CPU tensor; raises if it holds NaN (named ``name`` in the message)."""
    if isinstance(x, torch.Tensor):
        out = x.detach().to(device="cpu", dtype=F64)
    else:  # Python numbers straight to float64 (as_tensor would round them to float32 first)
        out = torch.as_tensor(x, dtype=F64)
    if torch.isnan(out).any():
        raise ValueError(f"{name} contains NaN: expected finite numbers")
    return out


def _check_system(c: torch.Tensor, b: torch.Tensor) -> None:
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] < 1:
        raise ValueError(f"C has shape {tuple(c.shape)}: expected a matrix (N, D) with N, D >= 1")
    if b.shape != (c.shape[0],):
        raise ValueError(f"b has shape {tuple(b.shape)}: expected ({c.shape[0]},), one per row")
    if (c.norm(dim=1) == 0).any():
        raise ValueError("C has a zero row: every boundary needs a nonzero normal c_i")


def posterior_sd(sigma: float | torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """σ/√t, the flat-prior posterior sd per coordinate; array-valued t broadcasts over the
    leading (batch) axes of μ, hence the trailing unit axis."""
    s, tt = as_f64(sigma, "sigma"), as_f64(t, "t")
    if (s <= 0).any():
        raise ValueError(f"sigma = {sigma}: expected > 0")
    if (tt <= 0).any():
        raise ValueError(f"t = {t}: expected > 0 (number of samples)")
    out = s / torch.sqrt(tt)
    return out.unsqueeze(-1) if out.ndim > 0 else out


def normal_cdf(x: torch.Tensor) -> torch.Tensor:
    """Φ(x) = ½·erfc(−x/√2), accurate in the lower tail down to x ≈ −37.5.

    Not ``torch.special.ndtr``: in torch 2.13 it computes (1 + erf(x/√2))/2, which loses relative
    precision below x ≈ −6 and returns exactly 0 below x ≈ −8.3 (pytorch/pytorch#192295).
    """
    return 0.5 * erfc(-x * SQRT_HALF)


def optimal_probits(
    mu: torch.Tensor, c: torch.Tensor, b: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """Probit arguments √t·(c_iᵀμ − b_i)/(σ‖c_i‖), (..., D) → (..., N): the signed distances to
    the boundaries in posterior sds (Ŷ = Φ of these)."""
    mu, c, b = as_f64(mu, "mu"), as_f64(c, "C"), as_f64(b, "b")
    _check_system(c, b)
    if mu.ndim < 1 or mu.shape[-1] != c.shape[1]:
        raise ValueError(f"mu has shape {tuple(mu.shape)}: expected (..., {c.shape[1]}) like C")
    distance = (mu @ c.T - b) / c.norm(dim=1)
    return distance / posterior_sd(sigma, t)


def optimal_outputs(
    mu: torch.Tensor, c: torch.Tensor, b: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """The Bayes-optimal multi-task output Ŷ_i = Φ(√t·(c_iᵀμ − b_i)/(σ‖c_i‖)), (..., D) → (..., N)
    (flat prior, paper Theorem 3.1)."""
    return normal_cdf(optimal_probits(mu, c, b, sigma, t))


def probit_logits(x: torch.Tensor) -> torch.Tensor:
    """logit(Φ(x)) = log Φ(x) − log Φ(−x), exact for every x: the logits a sigmoid read-out needs to
    output Ŷ = Φ(x) (no rounding of Φ to 0 or 1 on the way)."""
    x = as_f64(x, "x")
    return log_ndtr(x) - log_ndtr(-x)


def trilaterate(c: torch.Tensor, distances: torch.Tensor) -> torch.Tensor:
    """Minimum-norm least-squares solution μ of C·μ = k for k (..., N) → μ (..., D).

    Uses ``lstsq`` with the SVD-based ``gelsd`` driver (exact for rank-deficient C, unlike the
    default ``gelsy``), never an explicit inverse.
    """
    c, k = as_f64(c, "C"), as_f64(distances, "distances")
    if c.ndim != 2:
        raise ValueError(f"C has shape {tuple(c.shape)}: expected a matrix (N, D)")
    if k.ndim < 1 or k.shape[-1] != c.shape[0]:
        raise ValueError(f"distances have shape {tuple(k.shape)}: expected (..., {c.shape[0]})")
    lead = k.shape[:-1]
    rhs = k.reshape(-1, c.shape[0]).T
    sol = torch.linalg.lstsq(c, rhs, driver="gelsd").solution
    return sol.T.reshape(*lead, c.shape[1])


def reconstruct_mu(
    y: torch.Tensor, c: torch.Tensor, b: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """μ(t) = (CᵀC)⁻¹Cᵀ(σ/√t·diag(‖c_i‖)·Φ⁻¹(Ŷ) + b) from optimal outputs Ŷ (..., N) → (..., D)
    (Theorem 3.1 / B.6 "trilateration"); minimum-norm (row-space projection) when rank(C) < D.

    Ŷ is clipped into [TINY, 1 − 2⁻⁵³], which moves only outputs that are exactly 0 or 1.
    """
    y, c, b = as_f64(y, "Y"), as_f64(c, "C"), as_f64(b, "b")
    _check_system(c, b)
    if y.ndim < 1 or y.shape[-1] != c.shape[0]:
        raise ValueError(
            f"Y has shape {tuple(y.shape)}: expected (..., {c.shape[0]}), one per task"
        )
    if ((y < 0) | (y > 1)).any():
        raise ValueError("Y has values outside [0, 1]: expected probabilities")
    z = ndtri(y.clamp(TINY, ONE_MINUS))
    distances = posterior_sd(sigma, t) * c.norm(dim=1) * z + b
    return trilaterate(c, distances)


def optimal_log_outputs(
    mu: torch.Tensor, c: torch.Tensor, b: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """log Ŷ_i = log Φ(z_i) of the optimal outputs, (..., D) → (..., N): exact where Ŷ itself
    rounds to 0 or 1 (log Ŷ ≈ −Φ(−z) stays representable for z up to ≈ 38, Φ(z) only to ≈ 8.2)."""
    return log_ndtr(optimal_probits(mu, c, b, sigma, t))


def ndtri_exp(log_p: torch.Tensor) -> torch.Tensor:
    """Φ⁻¹(exp(log p)) for log p ≤ 0, accurate in both tails (as ``scipy.special.ndtri_exp``).

    The smaller tail is inverted: for log p < log ½, ``ndtri(exp(log p))`` (p keeps its relative
    precision down to the subnormals, i.e. log p ≳ −744); for log p ≥ log ½, −Φ⁻¹(1 − p) with
    1 − p = −expm1(log p), which keeps the upper tail that p itself would round to 1. Below
    log p = log(smallest normal) the asymptotic z² ≈ −2 log p − log(−2 log p) − log 2π is refined by
    Newton steps on log Φ(z) = log p (quadratic convergence; 8 steps reach float64 precision).
    """
    lp = as_f64(log_p, "log_p")
    if (lp > 0).any():
        raise ValueError("log_p has positive values: expected log-probabilities (<= 0)")
    upper = lp >= -math.log(2.0)
    small = torch.where(upper, torch.log(-torch.expm1(lp)), lp)  # log of the smaller tail mass
    z = ndtri(torch.exp(small))
    deep = (small < math.log(TINY)) & torch.isfinite(small)  # log p = −inf: Φ⁻¹ = ∓inf as is
    if deep.any():
        u0 = -2.0 * small[deep]
        zd = -torch.sqrt(u0 - torch.log(u0) - math.log(2.0 * math.pi))
        for _ in range(8):
            log_pdf = -0.5 * zd * zd - 0.5 * math.log(2.0 * math.pi)
            zd = zd - (log_ndtr(zd) - small[deep]) * torch.exp(log_ndtr(zd) - log_pdf)
        z = z.masked_scatter(deep, zd)
    return torch.where(upper, -z, z)


def reconstruct_mu_log(
    log_y: torch.Tensor, c: torch.Tensor, b: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """``reconstruct_mu`` from the log-outputs log Ŷ (..., N) → μ (..., D), with Φ⁻¹ computed in
    log space (``ndtri_exp``): exact where the probabilities saturate (|z| up to ≈ 38, i.e. the
    task's σ = 0.2 and T = 20, where float64 rounds Ŷ to 1 beyond z ≈ 8.2)."""
    log_y, c, b = as_f64(log_y, "log Y"), as_f64(c, "C"), as_f64(b, "b")
    _check_system(c, b)
    if log_y.ndim < 1 or log_y.shape[-1] != c.shape[0]:
        raise ValueError(
            f"log Y has shape {tuple(log_y.shape)}: expected (..., {c.shape[0]}), one per task"
        )
    distances = posterior_sd(sigma, t) * c.norm(dim=1) * ndtri_exp(log_y) + b
    return trilaterate(c, distances)


def row_space_projection(mu: torch.Tensor, c: torch.Tensor, rtol: float = 1e-12) -> torch.Tensor:
    """Orthogonal projection of μ (..., D) onto the row space of C: all that N < D tasks can
    reveal about μ. Singular values below ``rtol``·σ_max count as zero."""
    mu, c = as_f64(mu, "mu"), as_f64(c, "C")
    _, s, vh = torch.linalg.svd(c, full_matrices=False)
    basis = vh[s > rtol * s.max()]  # (rank, D)
    return (mu @ basis.T) @ basis


def matrix_rank_and_condition(c: torch.Tensor, rtol: float = 1e-12) -> tuple[int, float]:
    """Rank of C and its condition number σ_max/σ_min over the nonzero singular values."""
    s = torch.linalg.svdvals(as_f64(c, "C"))
    kept = s[s > rtol * s.max()]
    return int(kept.numel()), float(kept.max() / kept.min())


def normal_pdf(x: torch.Tensor) -> torch.Tensor:
    """Standard normal density φ(x)."""
    return torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def normal_mass(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Φ(hi) − Φ(lo) for lo ≤ hi without cancellation in the upper tail (0 where lo ≥ hi)."""
    upper = normal_cdf(-lo) - normal_cdf(-hi)
    lower = normal_cdf(hi) - normal_cdf(lo)
    return torch.where(lo > 0, upper, lower).clamp_min(0.0)
