"""What a latent traversal moves, measured on the decoded frames rather than judged by eye (the
``vae-traversals`` and ``infogan-training`` panels).

Each frame (64 × 64 intensities in [0, 1]) is reduced to its centroid (x, y) and linear size (√ of
its summed intensity), in pixels. Over a traversal row the factor with the largest range is named
if that range exceeds ``MOVE_PIXELS``; otherwise the row is "shape/rotation" when its end frames
still differ (mean |Δ| above ``CHANGE_PER_PIXEL``) and "no change" when they do not. Orientation and
shape are not separated: a square's rotation and a change of shape both leave the moments nearly
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MOVE_PIXELS = 1.0
CHANGE_PER_PIXEL = 0.02
FACTORS = ("x position", "y position", "scale")


def frame_moments(frame: np.ndarray) -> np.ndarray:
    """Centroid x, centroid y and linear size (√ summed intensity) of one frame, in pixels;
    the centroid is NaN for an empty frame."""
    frame = np.asarray(frame, dtype=float)
    mass = frame.sum()
    if mass <= 0:
        return np.array([np.nan, np.nan, 0.0])
    rows, cols = np.indices(frame.shape)
    return np.array([(frame * cols).sum() / mass, (frame * rows).sum() / mass, np.sqrt(mass)])


def what_moves(frames: Sequence[np.ndarray]) -> tuple[str, float]:
    """The factor one traversal row moves (the module docstring) and its range in pixels."""
    m = np.array([frame_moments(f) for f in frames])
    with np.errstate(all="ignore"):
        ranges = np.nanmax(m, axis=0) - np.nanmin(m, axis=0)
    finite = np.where(np.isfinite(ranges), ranges, -np.inf)
    best = int(np.argmax(finite))
    largest = float(finite[best]) if np.isfinite(finite[best]) else 0.0
    if largest > MOVE_PIXELS:
        return FACTORS[best], largest
    ends = np.asarray(frames[-1], float) - np.asarray(frames[0], float)
    if np.abs(ends).mean() > CHANGE_PER_PIXEL:
        return "shape/rotation", largest
    return "no change", largest
