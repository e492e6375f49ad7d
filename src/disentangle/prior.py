"""The task's latent prior and the closed forms that depend on it alone.

Every latent coordinate x*_j is drawn from U(−½, ½) (docs/replication.md, "Task"), so its variance
is 1/12 and an r² is 1 − mse/(1/12). This module imports nothing heavy: the figure notebooks draw
the information ceiling from it without loading torch (2-3 s of every r² panel's job).
"""

from __future__ import annotations

import math

VAR_U = 1.0 / 12.0  # variance of U(−1/2, 1/2)


def information_ceiling(noise_sd: float, n_samples: int) -> float:
    """r² of the unbiased mean of n noisy samples: 1 − σ²/(n·Var_U) = 1 − 12σ²/n (paper Eq. 7)."""
    return 1.0 - noise_sd**2 / (n_samples * VAR_U) if n_samples > 0 else -math.inf
