"""Locatello et al. (ICML 2019), "Challenging common assumptions in the unsupervised learning of
disentangled representations", Theorem 1, checked numerically on densities.

(a) Gaussian prior p(z) = N(0, I_D): for any orthogonal R, p(Rz) = p(z), yet the rotated code mixes
    the factors. (b) Any factorised prior with continuous marginal CDFs F_j: the bijection
    g(z) = F⁻¹(Φ(R·Φ⁻¹(F(z)))) pushes p forward to itself (exactly, by change of variables) while
    every output coordinate depends on every input. So the prior alone cannot single out a
    disentangled code. Marginals of (b) cycle through uniform(0, 1), Laplace(0, 1) and
    exponential(1); Φ⁻¹(F) is evaluated through the survival function in the upper half so the
    map keeps float64 precision in both tails. R is Haar-random (QR of a Gaussian matrix), redrawn
    until it clearly mixes (mean over outputs of max_j R_kj² ≤ 0.75).
"""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch.special import ndtri

from disentangle.seeding import generator
from disentangle.theory.closed_form import F64, normal_cdf

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
MARGINALS = ("uniform", "laplace", "exponential")


def random_orthogonal(dim: int, g: torch.Generator) -> torch.Tensor:
    """A Haar-distributed orthogonal matrix (D, D): QR of a Gaussian matrix with the signs fixed."""
    q, r = torch.linalg.qr(torch.randn((dim, dim), generator=g, dtype=F64))
    return q * torch.sign(torch.diagonal(r))


def mixing_rotation(dim: int, g: torch.Generator, max_share: float = 0.75) -> torch.Tensor:
    """A Haar-random orthogonal matrix, redrawn until the mean over outputs of max_j R_kj² is at
    most ``max_share``: rotations close to a signed permutation are also invariances of the prior
    but leave the code (nearly) disentangled, so they demonstrate nothing."""
    if not 1.0 / dim <= max_share <= 1.0:
        raise ValueError(f"max_share = {max_share}: expected a number in [1/D, 1] = [{1 / dim}, 1]")
    for _ in range(1000):
        rot = random_orthogonal(dim, g)
        if float((rot * rot).amax(dim=1).mean()) <= max_share:
            return rot
    raise RuntimeError(f"no rotation with max_share <= {max_share} in 1000 draws (D = {dim})")


def _cdf_sf(kind: str, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """F and 1 − F of marginal ``kind`` at z (anywhere on the real line)."""
    if kind == "uniform":
        z = z.clamp(0.0, 1.0)
        return z, 1.0 - z
    if kind == "laplace":
        half = 0.5 * torch.exp(-z.abs())
        return torch.where(z < 0, half, 1.0 - half), torch.where(z < 0, 1.0 - half, half)
    z = z.clamp_min(0.0)
    return -torch.expm1(-z), torch.exp(-z)  # exponential(1)


def _quantile(kind: str, p: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """F⁻¹ at probability p (lower half) or at survival probability p where ``upper``."""
    if kind == "uniform":
        return torch.where(upper, 1.0 - p, p)
    if kind == "laplace":
        low = torch.log(2.0 * p)
        return torch.where(upper, -low, low)
    return torch.where(upper, -torch.log(p), -torch.log1p(-p))


def marginal_log_density(kinds: tuple[str, ...], z: torch.Tensor) -> torch.Tensor:
    """log p(z) = Σ_j log f_j(z_j) for the factorised prior with marginals ``kinds``:
    (..., D) → (...); −inf outside the support."""
    out = torch.zeros(z.shape[:-1], dtype=F64)
    for j, kind in enumerate(kinds):
        if kind == "uniform":
            inside = (z[..., j] >= 0) & (z[..., j] <= 1)
            out = out + torch.where(inside, 0.0, -math.inf)
        elif kind == "laplace":
            out = out - z[..., j].abs() - math.log(2.0)
        else:
            out = out + torch.where(z[..., j] >= 0, -z[..., j], -math.inf)
    return out


def to_gaussian(kinds: tuple[str, ...], z: torch.Tensor) -> torch.Tensor:
    """u = Φ⁻¹(F(z)) per coordinate, via −Φ⁻¹(1 − F) in the upper half."""
    cols = []
    for j, kind in enumerate(kinds):
        cdf, sf = _cdf_sf(kind, z[..., j])
        cols.append(torch.where(cdf < 0.5, ndtri(cdf), -ndtri(sf)))
    return torch.stack(cols, dim=-1)


def from_gaussian(kinds: tuple[str, ...], u: torch.Tensor) -> torch.Tensor:
    """z = F⁻¹(Φ(u)) per coordinate, via the survival function for u > 0."""
    upper = u > 0
    p = normal_cdf(-u.abs())
    return torch.stack([_quantile(k, p[..., j], upper[..., j]) for j, k in enumerate(kinds)], -1)


def entangling_map(kinds: tuple[str, ...], rotation: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """g(z) = F⁻¹(Φ(R·Φ⁻¹(F(z)))): a bijection that preserves the factorised prior."""
    return from_gaussian(kinds, to_gaussian(kinds, z) @ rotation.T)


def pushforward_residual(
    kinds: tuple[str, ...], matrix: torch.Tensor, z: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(g(z)) + log|det J_g(z)| − log p(z) for g = ``entangling_map`` with ``matrix`` in place
    of R (zero iff g preserves the prior density at z), with J_g from autograd; also returns J_g
    (n, D, D). Only an orthogonal ``matrix`` gives zero everywhere."""
    jac = torch.func.vmap(torch.func.jacrev(lambda v: entangling_map(kinds, matrix, v)))(z)
    _, logdet = torch.linalg.slogdet(jac)
    out = entangling_map(kinds, matrix, z)
    return marginal_log_density(kinds, out) + logdet - marginal_log_density(kinds, z), jac


def sample_prior(kinds: tuple[str, ...], n: int, g: torch.Generator) -> torch.Tensor:
    """n draws (n, D) from the factorised prior, by inverse CDF."""
    u = torch.randn((n, len(kinds)), generator=g, dtype=F64)
    return from_gaussian(kinds, u)


def ks_statistic(cdf: torch.Tensor) -> float:
    """Kolmogorov–Smirnov distance of a sample from a continuous law, given the law's F at the
    sorted sample (n,)."""
    n = cdf.numel()
    i = torch.arange(1, n + 1, dtype=F64)
    return float(torch.maximum(i / n - cdf, cdf - (i - 1) / n).max())


def _max_offdiag_abs_corr(a: torch.Tensor) -> float:
    corr = torch.corrcoef(a.T)
    return float((corr - torch.diag(torch.diagonal(corr))).abs().max())


def _dominant_share(inputs: torch.Tensor, outputs: torch.Tensor) -> float:
    """Mean over outputs of max_j corr(z_j, g_k)² / Σ_j corr(z_j, g_k)²: 1 for a code that reads
    one factor per output (disentangled), 1/D for a fully mixed one."""
    d = inputs.shape[1]
    corr = torch.corrcoef(torch.cat([inputs, outputs], 1).T)[:d, d:] ** 2  # (inputs, outputs)
    return float((corr.max(dim=0).values / corr.sum(dim=0)).mean())


def gaussian_log_density(v: torch.Tensor) -> torch.Tensor:
    """log N(v; 0, I) of rows (..., D) → (...)."""
    return -0.5 * (v * v).sum(-1) - v.shape[-1] * LOG_SQRT_2PI


def _gaussian_rows(dim: int, n: int, g: torch.Generator) -> dict[str, float]:
    rot = mixing_rotation(dim, g)
    z = torch.randn((n, dim), generator=g, dtype=F64)
    out = z @ rot.T
    log_p = gaussian_log_density
    ks = [ks_statistic(normal_cdf(col)) for col in out.sort(dim=0).values.T]
    return {
        "max_abs_logdensity_diff": float((log_p(out) - log_p(z)).abs().max()),
        "max_abs_offdiag_corr_output": _max_offdiag_abs_corr(out),
        "max_abs_offdiag_corr_input": _max_offdiag_abs_corr(z),
        "max_ks_output": max(ks),
        "dominant_share": _dominant_share(z, out),
        "min_abs_jacobian_entry": float(rot.abs().min()),
    }


def _non_gaussian_rows(dim: int, n: int, g: torch.Generator) -> dict[str, float]:
    kinds = tuple(MARGINALS[j % len(MARGINALS)] for j in range(dim))
    rot = mixing_rotation(dim, g)
    z = sample_prior(kinds, n, g)
    out = entangling_map(kinds, rot, z)
    back = from_gaussian(kinds, to_gaussian(kinds, out) @ rot)  # g⁻¹ uses Rᵀ
    residual, jac = pushforward_residual(kinds, rot, z)
    ks, ks_plain = [], []
    plain = z @ rot.T  # rotating z itself does not preserve a non-Gaussian prior: the control
    for j, kind in enumerate(kinds):
        col = out[:, j].sort().values
        ks.append(ks_statistic(_cdf_sf(kind, col)[0]))
        col = plain[:, j].sort().values
        ks_plain.append(ks_statistic(_cdf_sf(kind, col)[0]))
    centred = out - out.mean(0)
    return {
        "max_abs_logdensity_residual": float(residual.abs().max()),
        "max_abs_roundtrip_err": float((back - z).abs().max()),
        "max_abs_offdiag_corr_output": _max_offdiag_abs_corr(out),
        "max_abs_offdiag_corr_input": _max_offdiag_abs_corr(z),
        "max_abs_offdiag_corr_sq_output": _max_offdiag_abs_corr(centred**2),
        "max_abs_offdiag_corr_sq_input": _max_offdiag_abs_corr((z - z.mean(0)) ** 2),
        "max_ks_output": max(ks),
        "max_ks_plain_rotation": max(ks_plain),
        "dominant_share": _dominant_share(z, out),
        "fraction_jacobian_nonzero": float((jac.abs() > 1e-12).to(F64).mean()),
    }


def locatello_table(seed: int, n: int, dims: tuple[int, ...] = (2, 3, 5)) -> pd.DataFrame:
    """Tidy checks of the impossibility argument per (part, D): ``gaussian`` (rotation of N(0, I))
    and ``non_gaussian`` (the entangling bijection on uniform/Laplace/exponential marginals) on
    ``n`` samples; ``ks_critical_1pct`` = 1.628/√n is the KS 1 % critical value for comparison."""
    if n < 10 or any(d < 2 for d in dims):
        raise ValueError(f"n = {n}, dims = {dims}: expected n >= 10 and D >= 2")
    rows = []
    for dim in dims:
        for part, build in (("gaussian", _gaussian_rows), ("non_gaussian", _non_gaussian_rows)):
            measured = build(dim, n, generator("theory-locatello", seed, part, dim))
            measured["ks_critical_1pct"] = 1.628 / math.sqrt(n)
            rows += [
                {"part": part, "dim": dim, "metric": k, "value": v} for k, v in measured.items()
            ]
    return pd.DataFrame(rows)
