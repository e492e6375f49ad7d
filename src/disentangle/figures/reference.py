"""Theory overlays drawn on the r² panels (closed forms only; nothing here trains or fits).

- ``ceiling``: r² of the unbiased mean of T noisy samples, 1 − 12σ²/T (paper Eq. 7;
  docs/replication.md, "Theory checks"), the meaningful upper reference of every OOD panel.
- ``rank_ceiling``: with N < D tasks the optimal system keeps only C·x*, so the best linear read-out
  captures on average N/D of the latent variance: min(1, N/D)·(1 − 12σ²/T) (docs/replication.md,
  "Theory checks": an inference, drawn dashed and labelled as such on Fig. 5b).
"""

from __future__ import annotations

from disentangle.prior import information_ceiling


def ceiling(noise_sd: float, n_samples: int) -> float:
    """1 − 12σ²/T."""
    return information_ceiling(noise_sd, n_samples)


def rank_ceiling(n_tasks: int, dim: int, noise_sd: float, n_samples: int) -> float:
    """min(1, N/D)·(1 − 12σ²/T)."""
    return min(1.0, n_tasks / dim) * information_ceiling(noise_sd, n_samples)
