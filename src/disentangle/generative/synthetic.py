"""The iVAE synthetic data set (Khemakhem et al. 2020; reference notes section 4, after
``ilkhem/iVAE`` ``data/data.py``, rewritten here).

n sources in ``n_segments`` segments with ``points_per_segment`` points each; u = one-hot(segment).
Within segment j the sources are independent N(0, σ_jl²) with σ_jl ~ U[0.5, 3] drawn for every
segment and source. The observations are x = f(s): an L-layer MLP of random matrices with unit-norm
columns, each redrawn until its condition number is below the 25th percentile of 10,000 such
draws (well conditioned, hence f injective for leaky-ReLU / xtanh), and an activation between
layers (``xtanh`` = tanh(x) + 0.1·x, or leaky-ReLU with slope 0.2), none after the last layer
(L = 1 is linear mixing). Optional Gaussian observation noise.

Defaults: the reference's 5 sources, 40 segments × 1000 points, 3 layers, xtanh, no noise,
observation dimension = number of sources. The mixing comes from the stream ("ivae-mixing", seed)
and the sources from ("ivae-sources", seed), so changing the number of points keeps f.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle.seeding import derive_seed

MIXING_ACTIVATIONS = ("xtanh", "leaky_relu")
LEAKY_SLOPE = 0.2
XTANH_SLOPE = 0.1
CONDITION_DRAWS = 10_000
CONDITION_PERCENTILE = 25.0
STD_RANGE = (0.5, 3.0)


@dataclass(frozen=True)
class IVAEData:
    """Observations x (N, d), sources s (N, n), u one-hot (N, n_segments), segment ids (N,),
    per-segment source stds (n_segments, n), the mixing matrices (out, in) and, for each, the
    condition-number threshold it satisfies."""

    x: np.ndarray
    s: np.ndarray
    u: np.ndarray
    segment: np.ndarray
    stds: np.ndarray
    mixing: tuple[np.ndarray, ...]
    condition_thresholds: tuple[float, ...]


def normalised_matrices(n_out: int, n_in: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` random (n_out, n_in) matrices with U(−1, 1) entries and unit-norm columns."""
    a = rng.uniform(-1.0, 1.0, size=(count, n_out, n_in))
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def condition_threshold(n_out: int, n_in: int, rng: np.random.Generator) -> float:
    """The 25th percentile of the condition number of 10,000 column-normalised random matrices."""
    cond = np.linalg.cond(normalised_matrices(n_out, n_in, CONDITION_DRAWS, rng))
    return float(np.percentile(cond, CONDITION_PERCENTILE))


def well_conditioned_matrix(
    n_out: int, n_in: int, threshold: float, rng: np.random.Generator, max_tries: int = 10_000
) -> np.ndarray:
    """A column-normalised random (n_out, n_in) matrix with condition number below ``threshold``."""
    for _ in range(max_tries):
        a = normalised_matrices(n_out, n_in, 1, rng)[0]
        if np.linalg.cond(a) < threshold:
            return a
    raise RuntimeError(f"no matrix with condition number < {threshold} in {max_tries} draws")


def mixing_activation(h: np.ndarray, activation: str) -> np.ndarray:
    """``xtanh`` (tanh(h) + 0.1·h) or ``leaky_relu`` (slope 0.2): strictly increasing maps."""
    if activation == "xtanh":
        return np.tanh(h) + XTANH_SLOPE * h
    if activation == "leaky_relu":
        return np.where(h > 0, h, LEAKY_SLOPE * h)
    raise ValueError(f"activation = {activation!r}: expected one of {MIXING_ACTIVATIONS}")


def mix(s: np.ndarray, mixing: tuple[np.ndarray, ...], activation: str) -> np.ndarray:
    """x = A_L(σ(… σ(A_1 s))): the activation between layers, none after the last."""
    h = s
    for i, a in enumerate(mixing):
        h = h @ a.T
        if i < len(mixing) - 1:
            h = mixing_activation(h, activation)
    return h


def make_ivae_dataset(
    seed: int,
    n_sources: int = 5,
    n_segments: int = 40,
    points_per_segment: int = 1000,
    n_layers: int = 3,
    activation: str = "xtanh",
    obs_dim: int | None = None,
    noise_std: float = 0.0,
) -> IVAEData:
    """Draw the iVAE data set of ``seed`` (module docstring); float32 x and s, float32 one-hot u."""
    for name, value in (
        ("n_sources", n_sources),
        ("n_segments", n_segments),
        ("points_per_segment", points_per_segment),
        ("n_layers", n_layers),
    ):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} = {value!r}: expected a positive integer")
    if activation not in MIXING_ACTIVATIONS:
        raise ValueError(f"activation = {activation!r}: expected one of {MIXING_ACTIVATIONS}")
    d = n_sources if obs_dim is None else int(obs_dim)
    if d < n_sources:
        raise ValueError(f"obs_dim = {obs_dim}: expected >= n_sources = {n_sources} (injective f)")
    if not noise_std >= 0:
        raise ValueError(f"noise_std = {noise_std}: expected a non-negative number")

    g_mix = np.random.default_rng(derive_seed("ivae-mixing", seed))
    square = condition_threshold(d, d, g_mix)
    # the first layer is rectangular when obs_dim > n_sources: it gets its own threshold
    first = square if d == n_sources else condition_threshold(d, n_sources, g_mix)
    thresholds = (first, *([square] * (n_layers - 1)))
    shapes = [(d, n_sources)] + [(d, d)] * (n_layers - 1)
    mixing = [
        well_conditioned_matrix(o, i, t, g_mix)
        for (o, i), t in zip(shapes, thresholds, strict=True)
    ]

    g_src = np.random.default_rng(derive_seed("ivae-sources", seed))
    stds = g_src.uniform(*STD_RANGE, size=(n_segments, n_sources))
    segment = np.repeat(np.arange(n_segments), points_per_segment)
    s = g_src.standard_normal((segment.size, n_sources)) * stds[segment]
    x = mix(s, tuple(mixing), activation)
    if noise_std > 0:
        x = x + noise_std * g_src.standard_normal(x.shape)
    u = np.eye(n_segments, dtype=np.float32)[segment]
    return IVAEData(
        x=x.astype(np.float32),
        s=s.astype(np.float32),
        u=u,
        segment=segment,
        stds=stds,
        mixing=tuple(mixing),
        condition_thresholds=thresholds,
    )
