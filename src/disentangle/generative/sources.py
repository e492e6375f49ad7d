"""Where the generative models' minibatches come from.

A data source draws ``n`` observations (and the auxiliary u, if any) from a
``numpy.random.Generator`` and describes itself for the checkpoint guard:

- ``DSpritesSource``: factor indices drawn uniformly over the grid and rendered on the fly by
  ``disentangle.data.dsprites`` (dlib draws each training image uniformly with replacement; 64
  frames take ~5 ms). Observations (n, 1, 64, 64) float32 in {0, 1}.
- ``ArraySource``: rows of a fixed array drawn uniformly with replacement (vector data such as the
  iVAE synthetic set or the multi-task task's 40-d observations, or a fixed stack of C×64×64
  frames), with an optional u array.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from disentangle.data import dsprites
from disentangle.generative.networks import is_image_shape
from disentangle.io import file_digest


class DSpritesSource:
    """dSprites frames rendered on the fly from uniformly drawn factors."""

    observation_shape = (1, dsprites.IMAGE_SIZE, dsprites.IMAGE_SIZE)
    n_aux = 0

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, None]:
        """n frames (n, 1, 64, 64) float32 and no auxiliary variable."""
        return self.observations(dsprites.sample_factors(n, rng)), None

    @staticmethod
    def observations(factor_indices: np.ndarray) -> torch.Tensor:
        """Render factor-index rows (n, 5) as model input (n, 1, 64, 64) float32."""
        frames = dsprites.render(factor_indices)
        return torch.from_numpy(frames).to(torch.float32).unsqueeze(1)

    def describe(self) -> dict:
        """Identity for the checkpoint guard: the renderer's source digest."""
        return {"kind": "dsprites", "renderer": file_digest(dsprites.__file__)}


class ArraySource:
    """Rows of a fixed (N, d) or (N, C, 64, 64) array (and optional (N, k) auxiliary array),
    drawn uniformly with replacement."""

    def __init__(self, x: np.ndarray, u: np.ndarray | None = None):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim not in (2, 4) or x.shape[0] < 1:
            raise ValueError(
                f"x: expected a non-empty (N, d) or (N, C, 64, 64) array, got {x.shape}"
            )
        is_image_shape(x.shape[1:])
        if not np.all(np.isfinite(x)):
            raise ValueError("x: expected finite values, found NaN or inf")
        if u is not None:
            u = np.ascontiguousarray(u, dtype=np.float32)
            if u.ndim != 2 or u.shape[0] != x.shape[0]:
                raise ValueError(f"u: expected shape ({x.shape[0]}, k), got {u.shape}")
        self.x, self.u = x, u
        self.observation_shape = tuple(x.shape[1:])
        self.n_aux = 0 if u is None else u.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n rows drawn with replacement: x (n, *observation_shape) and u (n, k) or None."""
        idx = rng.integers(0, self.x.shape[0], size=int(n))
        u = None if self.u is None else torch.from_numpy(self.u[idx])
        return torch.from_numpy(self.x[idx]), u

    def describe(self) -> dict:
        """Identity for the checkpoint guard: shapes and a digest of the arrays' bytes."""
        h = hashlib.sha256(self.x.tobytes())
        if self.u is not None:
            h.update(self.u.tobytes())
        return {
            "kind": "array",
            "shape": list(self.x.shape),
            "n_aux": self.n_aux,
            "digest": h.hexdigest()[:16],
        }
