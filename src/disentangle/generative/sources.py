"""Where the generative models' minibatches come from.

A data source draws ``n`` observations (and the auxiliary u, if any) from a
``numpy.random.Generator`` and describes itself for the checkpoint guard:

- ``DSpritesSource``: factor indices drawn uniformly over the grid (dlib draws each training image
  uniformly with replacement) and turned into frames, either rendered on the fly by
  ``disentangle.data.dsprites`` (``source="procedural"``, the default; 64 frames take ~5 ms) or
  looked up in the user's copy of DeepMind's file (``source="npz"``, ``path``; checked and held
  bit-packed in memory by ``dsprites.load_npz``). Both store frames in the same order, so the same
  draws select the same factors. Observations (n, 1, 64, 64) float32 in {0, 1}.
- ``ArraySource``: rows of a fixed array drawn uniformly with replacement (vector data such as the
  iVAE synthetic set or the multi-task task's 40-d observations, or a fixed stack of C×64×64
  frames), with an optional u array.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

import numpy as np
import torch

from disentangle.data import dsprites
from disentangle.generative.networks import is_image_shape
from disentangle.io import file_digest

DSPRITES_SOURCES = ("procedural", "npz")


def _procedural_observations(factor_indices: np.ndarray) -> torch.Tensor:
    """Render factor-index rows (n, 5) as model input (n, 1, 64, 64) float32."""
    return _as_input(dsprites.render(factor_indices))


def _as_input(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).to(torch.float32).unsqueeze(1)


class _ProceduralOnClass:
    """``observations``: on an instance, that source's frames; on the class itself
    (``DSpritesSource.observations(f)``, what the scorers and traversals call, having no source),
    the procedural renderer. An npz source therefore never hands out rendered frames by mistake,
    and the class-level callers keep working until they are given a source."""

    def __init__(self, method: Callable):
        self.method = method
        self.__doc__ = method.__doc__

    def __get__(self, obj, objtype=None) -> Callable[[np.ndarray], torch.Tensor]:
        if obj is None:
            return _procedural_observations
        return self.method.__get__(obj, objtype)


class DSpritesSource:
    """dSprites frames of uniformly drawn factors: rendered (``source="procedural"``) or read from
    DeepMind's .npz at ``path`` (``source="npz"``, checked and loaded once, ~10-20 s and 0.4 GB)."""

    observation_shape = (1, dsprites.IMAGE_SIZE, dsprites.IMAGE_SIZE)
    n_aux = 0

    def __init__(self, source: str = "procedural", path: str | os.PathLike | None = None):
        if source not in DSPRITES_SOURCES:
            raise ValueError(f"source: expected one of {DSPRITES_SOURCES}, got {source!r}")
        if source == "procedural" and path is not None:
            raise ValueError(f"path {os.fspath(path)!r} is only read with source='npz'")
        if source == "npz" and path is None:
            raise ValueError(f"source='npz' needs the path of {dsprites.NPZ_NAME}")
        self.source = source
        self.path = None if path is None else os.fspath(path)
        #: the file's frames, bit-packed (``dsprites.load_npz``); None when rendering
        self.packed = None if self.path is None else dsprites.load_npz(self.path)
        # the file's identity for the checkpoint guard (hashing ~26 MB: well under a second)
        self._digest = None if self.path is None else file_digest(self.path)

    def frames(self, factor_indices: np.ndarray) -> np.ndarray:
        """The frames of factor-index rows (n, 5): uint8 (n, 64, 64), values 0/1."""
        if self.packed is None:
            return dsprites.render(factor_indices)
        return dsprites.unpack(self.packed, dsprites.factors_to_index(factor_indices))

    @_ProceduralOnClass
    def observations(self, factor_indices: np.ndarray) -> torch.Tensor:
        """Factor-index rows (n, 5) as model input (n, 1, 64, 64) float32."""
        return _as_input(self.frames(factor_indices))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, None]:
        """n frames (n, 1, 64, 64) float32 and no auxiliary variable."""
        return self.observations(dsprites.sample_factors(n, rng)), None

    def describe(self) -> dict:
        """Identity for the checkpoint guard: the renderer's source digest, or the file's digest
        (so a checkpoint trained on one source is not resumed on the other)."""
        if self._digest is None:
            return {"kind": "dsprites", "renderer": file_digest(dsprites.__file__)}
        return {"kind": "dsprites", "npz": self._digest}


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
