"""A procedural, vectorised re-render of dSprites (Matthey, Higgins, Hassabis & Lerchner 2017).

The workflow cannot download data sets, so it draws dSprites itself, on the original's factor grid
and in the original's storage order (deepmind/dsprites-dataset, its README and
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` layout):

- 737,280 binary 64×64 frames, values 0/1 in uint8.
- Factors, in storage order (last fastest): color (1 value, white), shape (3: square, ellipse,
  heart; stored values 1, 2, 3), scale (6: linspace(0.5, 1, 6)), orientation (40:
  linspace(0, 2π, 40), so indices 0 and 39 are the same angle and the same image, as in the
  original), posX and posY (32 each: linspace(0, 1, 32)). Color has a single value, so it is not
  part of the factor indices used here (as in disentanglement_lib's ``dsprites_full``):
  ``FACTOR_SIZES = (3, 6, 40, 32, 32)`` and flat index
  = shape·245760 + scale·40960 + orientation·1024 + posX·32 + posY.

The look follows the notes' measurements on real frames (pixel (row r, col c) has its centre at
(c + ½, r + ½); x to the right, y down):
- anchor (rotation centre) at (16 + 32·posX, 16 + 32·posY);
- size ∝ scale; at scale 1 a square of side 20, an ellipse with semi-axes 13 × 7.5 (long axis
  horizontal), and a heart pointing down made of two disks of radius 4.75 centred at (±4.75, −4.5),
  the strip between them and a V from the tip (0, 8.5) tangent to the disks (the sides then make
  40.1° with the axis);
- orientation turns the shape counter-clockwise on screen: a local point (x, y) goes to
  (x cosθ + y sinθ, −x sinθ + y cosθ);
- rasterisation: a pixel is on when its coverage reaches a per-shape threshold. The originals
  look slightly eroded on slanted edges: rotated squares match a coverage of 7/8, ellipses 3/4,
  while axis-aligned squares (orientation 0 and 2π) match the pixel-centre rule (coverage 1/2).
  The heart uses the pixel-centre rule on its outline grown by 0.2 px: without the growth it falls
  5-10 % short of the measured areas at every scale (``HEART_DILATION``; our one fitted constant).

Known deviation: the measured ellipse areas grow 3.79× from scale 0.5 to 1, while semi-axes ∝ scale
with the 3/4-coverage rule grow 4.2×; this renderer matches at scales 0.6-1 (within 3 %, exactly at
scale 1) and draws the smallest ellipse 9 % small (69 against 76 px, mean over positions).

Coverage is computed analytically rather than by supersampling: for a pixel whose centre lies at
distance d inside a straight edge with unit normal (cos φ, sin φ), the covered fraction is the
distribution function of the pixel's projection on the normal (a trapezoid), so "coverage ≥ t" is
exactly "d ≥ m_t(φ)" with the closed-form margin of ``coverage_margin``. For the square this is
exact along the edges (at the corners it takes each edge's coverage on its own); for the ellipse it
uses a first-order signed distance and the local normal. Against brute-force 16×16-supersampled
coverage fewer than 0.5 % of the on pixels differ, all of them within 0.05 of the threshold.
Every frame is drawn in a 32×32 window around its anchor (the shapes never reach further than
14.2 px from it) and pasted into the 64×64 frame; frames are processed in chunks, so memory
stays bounded for the full set (about 0.07 ms a frame on one core: ~0.75 s for 10,000 frames,
~40 s for all 737,280).

The real file. A user who has DeepMind's ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` can
train and score on it instead (``load_npz``; ``generative.sources.DSpritesSource(source="npz")``).
Its frames are stored in the storage order above, so flat index i is row i of either source and the
same factor draws select the same frames. The loader checks the layout before it trusts the file
(arrays, shapes, dtypes, that ``latents_classes`` and ``latents_values`` enumerate this grid in
this order, frames 0/1) and never unpickles anything: the file's ``metadata`` is a pickled dict,
which ``allow_pickle=False`` refuses and the loader never reads.
"""

from __future__ import annotations

import math
import os
import time
import zipfile
import zlib

import numpy as np

from disentangle.io import atomic_write

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES = (3, 6, 40, 32, 32)
N_IMAGES = 737280  # = 3 · 6 · 40 · 32 · 32
IMAGE_SIZE = 64
SHAPE_NAMES = ("square", "ellipse", "heart")

# Stored latent values of the original (``latents_values``); shape keeps its 1-based labels.
SHAPE_VALUES = np.array([1.0, 2.0, 3.0])
SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2.0 * math.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)
FACTOR_VALUE_ARRAYS = (SHAPE_VALUES, SCALES, ORIENTATIONS, POSITIONS, POSITIONS)

# Geometry at scale 1, in pixels (measured on real frames; reference notes section 3).
ANCHOR_OFFSET = 16.0  # anchor = ANCHOR_OFFSET + ANCHOR_SPAN · position
ANCHOR_SPAN = 32.0
SQUARE_HALF_SIDE = 10.0
ELLIPSE_SEMI_AXES = (13.0, 7.5)
HEART_RADIUS = 4.75  # the two lobes: disks of this radius centred at (±4.75, -4.5)
HEART_LOBE_Y = -4.5
HEART_TIP_Y = 8.5

# Coverage a pixel needs to be on (1/2 is the pixel-centre rule for straight edges).
SQUARE_COVERAGE = 7.0 / 8.0  # rotated squares; axis-aligned ones use 1/2
ELLIPSE_COVERAGE = 3.0 / 4.0
# The heart: pixel-centre rule on the notes' outline grown by this many pixels. The plain outline
# is 5-10 % short of the measured areas at every scale (210 vs 222 px at scale 1); growing it by
# 0.2 px fits all six (mean over positions 58.8/83.1/111.7/144.4/181.5/222.4 against
# 58/84/108/140/182/222) and keeps the measured 20 × 17 px extent at position (0, 0) (over all
# positions the heart is 19-20 px wide and 17-19, mostly 18, px tall).
HEART_DILATION = 0.2

WINDOW = 32  # side of the drawing window around the anchor
DEFAULT_CHUNK = 4096

_STRIDES = (245760, 40960, 1024, 32, 1)

# The heart's V: the tangent from the tip (0, TIP) to the right lobe touches it at TANGENT; the V's
# half-angle from the downward axis is GAMMA.
_TIP_TO_CENTRE = math.hypot(HEART_RADIUS, HEART_TIP_Y - HEART_LOBE_Y)
_GAMMA = math.atan2(HEART_RADIUS, HEART_TIP_Y - HEART_LOBE_Y) + math.asin(
    HEART_RADIUS / _TIP_TO_CENTRE
)
_TAN_GAMMA = math.tan(_GAMMA)
_TANGENT_LENGTH = math.sqrt(_TIP_TO_CENTRE**2 - HEART_RADIUS**2)
HEART_TANGENT_Y = HEART_TIP_Y - _TANGENT_LENGTH * math.cos(_GAMMA)  # ≈ -1.44
HEART_TANGENT_X = _TANGENT_LENGTH * math.sin(_GAMMA)  # ≈ 8.38


def _as_factor_array(factor_indices: np.ndarray, name: str = "factor_indices") -> np.ndarray:
    """Validate an (n, 5) integer array of grid indices and return it as int64."""
    arr = np.asarray(factor_indices)
    if arr.ndim != 2 or arr.shape[1] != len(FACTOR_SIZES):
        raise ValueError(f"{name}: expected an integer array of shape (n, 5), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name}: expected integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    for k, (fname, size) in enumerate(zip(FACTOR_NAMES, FACTOR_SIZES, strict=True)):
        col = arr[:, k]
        if col.size and (col.min() < 0 or col.max() >= size):
            raise ValueError(
                f"{name}: {fname} index (column {k}) must lie in [0, {size}), "
                f"got values in [{col.min()}, {col.max()}]"
            )
    return arr


def factors_to_index(factor_indices: np.ndarray) -> np.ndarray:
    """Flat index into the original 737,280-image array for each row (shape, scale, ..., pos_y).

    Row-major over (color=1, shape, scale, orientation, pos_x, pos_y), pos_y fastest.
    """
    arr = _as_factor_array(factor_indices)
    return arr @ np.array(_STRIDES, dtype=np.int64)


def index_to_factors(flat_index: int | np.ndarray) -> np.ndarray:
    """Factor indices (shape, scale, orientation, pos_x, pos_y) of flat indices: (n, 5) int64.

    A scalar gives a (5,) row. The inverse of ``factors_to_index``.
    """
    idx = np.asarray(flat_index)
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"flat_index: expected integers, got dtype {idx.dtype}")
    if idx.ndim > 1:
        raise ValueError(f"flat_index: expected a scalar or a 1-D array, got shape {idx.shape}")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= N_IMAGES):
        raise ValueError(
            f"flat_index: must lie in [0, {N_IMAGES}), got values in [{idx.min()}, {idx.max()}]"
        )
    cols = [(idx // stride) % size for stride, size in zip(_STRIDES, FACTOR_SIZES, strict=True)]
    return np.stack(cols, axis=-1)


def factor_values(indices: np.ndarray) -> np.ndarray:
    """The original's latent values for (n, 5) factor indices: float64 (n, 5).

    Shape gives its stored label 1/2/3, scale 0.5…1, orientation radians in [0, 2π],
    positions [0, 1].
    """
    arr = _as_factor_array(indices, "indices")
    out = np.empty(arr.shape, dtype=np.float64)
    for k, values in enumerate(FACTOR_VALUE_ARRAYS):
        out[:, k] = values[arr[:, k]]
    return out


def sample_factors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw n factor-index rows uniformly over the grid (one uniform draw per factor, as dlib)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if int(n) != n or n < 0:
        raise ValueError(f"n: expected a non-negative integer, got {n!r}")
    return np.stack([rng.integers(0, size, size=int(n)) for size in FACTOR_SIZES], axis=1)


def coverage_margin(cos_phi: np.ndarray, sin_phi: np.ndarray, threshold: float) -> np.ndarray:
    """Distance m such that a unit pixel whose centre lies d inside a straight edge with normal
    (cos φ, sin φ) is covered to at least ``threshold`` exactly when d ≥ m (0 for threshold ½).

    The pixel's projection on the normal is U(|cos φ|) + U(|sin φ|), a trapezoid; m is its quantile.
    """
    if not 0.5 <= threshold < 1.0:
        raise ValueError(f"threshold: expected a coverage in [0.5, 1), got {threshold}")
    ca, sa = np.abs(cos_phi), np.abs(sin_phi)
    a, b = np.maximum(ca, sa), np.minimum(ca, sa)  # a >= 1/√2 > 0
    tail = 1.0 - threshold
    flat = a * (threshold - 0.5)  # quantile inside the flat part of the trapezoid
    corner = 0.5 * (a + b) - np.sqrt(2.0 * a * b * tail)  # quantile inside the sloped tail
    return np.where(tail >= b / (2.0 * a), flat, corner)


def _square(x: np.ndarray, y: np.ndarray, scale: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Square of side 20·scale; coverage ≥ 7/8 when rotated, pixel-centre rule when axis-aligned."""
    c, s = np.cos(theta), np.sin(theta)
    margin = coverage_margin(c, s, SQUARE_COVERAGE)
    margin = np.where(np.abs(np.sin(2.0 * theta)) < 1e-9, 0.0, margin)
    half = (SQUARE_HALF_SIDE * scale - margin)[:, None, None]
    return (np.abs(x) <= half) & (np.abs(y) <= half)


def _ellipse(x: np.ndarray, y: np.ndarray, scale: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Ellipse with semi-axes (13, 7.5)·scale, long axis along local x; coverage ≥ 3/4."""
    a = (ELLIPSE_SEMI_AXES[0] * scale)[:, None, None]
    b = (ELLIPSE_SEMI_AXES[1] * scale)[:, None, None]
    rho = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    gx, gy = x / a**2, y / b**2  # local gradient direction of rho
    gnorm = np.maximum(np.hypot(gx, gy), 1e-12)
    inside = (1.0 - rho) * rho / gnorm  # first-order signed distance to the outline, inside > 0
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    # the outward normal in screen coordinates (local → screen rotation of the gradient)
    nx, ny = (c * gx + s * gy) / gnorm, (-s * gx + c * gy) / gnorm
    return inside >= coverage_margin(nx, ny, ELLIPSE_COVERAGE)


def _segment_distance(
    px: np.ndarray, py: np.ndarray, a: tuple[float, float], b: tuple[float, float]
) -> np.ndarray:
    """Euclidean distance from points (px, py) to the segment from a to b."""
    ex, ey = b[0] - a[0], b[1] - a[1]
    t = np.clip(((px - a[0]) * ex + (py - a[1]) * ey) / (ex * ex + ey * ey), 0.0, 1.0)
    return np.hypot(px - a[0] - t * ex, py - a[1] - t * ey)


def _heart(x: np.ndarray, y: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Heart (point down at θ = 0): two lobes, the strip between them and the V to the tip.

    Pixel-centre rule on the outline grown by ``HEART_DILATION`` px (the union of the grown parts).
    """
    inv = (1.0 / scale)[:, None, None]
    grow = HEART_DILATION * inv  # the dilation in units of the scale-1 outline
    u, v = np.abs(x) * inv, y * inv  # the heart is symmetric in x
    r = HEART_RADIUS
    lobe = np.hypot(u - r, v - HEART_LOBE_Y) <= r + grow
    # strip |u| <= r, LOBE_Y <= v <= TANGENT_Y: distance to that box
    half_h = 0.5 * (HEART_TANGENT_Y - HEART_LOBE_Y)
    qx = u - r
    qy = np.abs(v - 0.5 * (HEART_LOBE_Y + HEART_TANGENT_Y)) - half_h
    strip = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0)) <= grow
    # the V: the triangle from the tip to the tangent points, plus its side grown by `grow` (its
    # base lies inside the lobes and the strip, so their growth covers it)
    vee = (v >= HEART_TANGENT_Y) & (u <= (HEART_TIP_Y - v) * _TAN_GAMMA)
    side = _segment_distance(u, v, (0.0, HEART_TIP_Y), (HEART_TANGENT_X, HEART_TANGENT_Y))
    return lobe | strip | vee | (side <= grow)


def _render_chunk(f: np.ndarray, out: np.ndarray) -> None:
    """Draw the frames of factor rows ``f`` (m, 5) into the zeroed ``out`` (m, 64, 64)."""
    m = f.shape[0]
    shape = f[:, 0]
    scale = SCALES[f[:, 1]]
    theta = ORIENTATIONS[f[:, 2]]
    ax = ANCHOR_OFFSET + ANCHOR_SPAN * POSITIONS[f[:, 3]]  # columns
    ay = ANCHOR_OFFSET + ANCHOR_SPAN * POSITIONS[f[:, 4]]  # rows
    # the window's first column/row: pixel centres then cover at least [-14.5, 14.5] around the
    # anchor, and the window stays inside [0, 64) for anchors in [16, 48]
    c0 = np.floor(ax).astype(np.int64) - WINDOW // 2
    r0 = np.floor(ay).astype(np.int64) - WINDOW // 2
    grid = np.arange(WINDOW) + 0.5
    dx = (c0[:, None] + grid - ax[:, None])[:, None, :]  # (m, 1, W)
    dy = (r0[:, None] + grid - ay[:, None])[:, :, None]  # (m, W, 1)
    win = np.zeros((m, WINDOW, WINDOW), dtype=bool)
    for k, draw in enumerate((_square, _ellipse, _heart)):
        sel = np.flatnonzero(shape == k)
        if sel.size == 0:
            continue
        c = np.cos(theta[sel])[:, None, None]
        s = np.sin(theta[sel])[:, None, None]
        # screen offset → local coordinates (inverse of the on-screen rotation)
        x = dx[sel] * c - dy[sel] * s
        y = dx[sel] * s + dy[sel] * c
        if k == 2:
            win[sel] = draw(x, y, scale[sel])
        else:
            win[sel] = draw(x, y, scale[sel], theta[sel])
    rows = r0[:, None, None] + np.arange(WINDOW)[None, :, None]
    cols = c0[:, None, None] + np.arange(WINDOW)[None, None, :]
    out[np.arange(m)[:, None, None], rows, cols] = win


def render(factor_indices: np.ndarray, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Render dSprites frames for (n, 5) factor indices (shape, scale, orientation, pos_x, pos_y).

    Returns uint8 (n, 64, 64) with values 0/1; frames are drawn ``chunk_size`` at a time.
    """
    f = _as_factor_array(factor_indices)
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    out = np.zeros((f.shape[0], IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for start in range(0, f.shape[0], int(chunk_size)):
        stop = start + int(chunk_size)
        _render_chunk(f[start:stop], out[start:stop])
    return out


def render_flat(flat_indices: np.ndarray, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """Render frames by flat index into the original array (what ``imgs[flat_indices]`` gave)."""
    return render(index_to_factors(np.atleast_1d(flat_indices)), chunk_size)


def render_all(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK, n_images: int = N_IMAGES
) -> dict[str, float]:
    """Write the full 737,280-frame set (or its first ``n_images`` frames) to ``path`` as a
    compressed .npz of packed bits (full set: ~45 s on one core, ~1 GB peak memory, 5.4 MB file).

    Keys: ``imgs_packed`` (737280, 64, 8) uint8 from ``np.packbits`` along the last axis (unpack
    with ``np.unpackbits(..., axis=-1)`` or ``load_frames``) and ``factor_sizes``. Row i is the
    frame of flat index i. Returns the render and write times in seconds.
    """
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    if int(n_images) != n_images or not 1 <= n_images <= N_IMAGES:
        raise ValueError(f"n_images: expected an integer in [1, {N_IMAGES}], got {n_images!r}")
    t0 = time.perf_counter()
    n = int(n_images)
    packed = np.empty((n, IMAGE_SIZE, IMAGE_SIZE // 8), dtype=np.uint8)
    frames = np.empty((int(chunk_size), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for start in range(0, n, int(chunk_size)):
        stop = min(start + int(chunk_size), n)
        out = frames[: stop - start]
        out.fill(0)
        _render_chunk(index_to_factors(np.arange(start, stop)), out)
        packed[start:stop] = np.packbits(out, axis=-1)
    t1 = time.perf_counter()

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, imgs_packed=packed, factor_sizes=np.array(FACTOR_SIZES, dtype=np.int64)
            )

    atomic_write(path, write)
    return {"render_s": t1 - t0, "write_s": time.perf_counter() - t1}


def unpack(packed: np.ndarray, flat_indices: np.ndarray | None = None) -> np.ndarray:
    """Frames (uint8 0/1, (n, 64, 64)) from bit-packed rows (n, 64, 8): all, or ``flat_indices``."""
    if flat_indices is not None:
        packed = packed[np.asarray(flat_indices)]
    return np.unpackbits(packed, axis=-1)


def load_frames(path: str | os.PathLike, flat_indices: np.ndarray | None = None) -> np.ndarray:
    """Read frames written by ``render_all`` (all, or those at ``flat_indices``): uint8 0/1."""
    with np.load(path) as data:
        if "imgs_packed" not in data:
            raise ValueError(f"{path}: no 'imgs_packed' array; not written by render_all")
        packed = data["imgs_packed"]
    return unpack(packed, flat_indices)


# --- DeepMind's file ---------------------------------------------------------------------------

NPZ_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
#: The arrays ``load_npz`` reads: name → (shape, dtype). ``metadata`` (a pickled dict) is not read.
NPZ_ARRAYS = {
    "imgs": ((N_IMAGES, IMAGE_SIZE, IMAGE_SIZE), np.dtype(np.uint8)),
    "latents_classes": ((N_IMAGES, 6), np.dtype(np.int64)),
    "latents_values": ((N_IMAGES, 6), np.dtype(np.float64)),
}
NPZ_CHUNK = 8192  # frames decompressed at a time: 32 MiB
# latents_values are compared with the grid's values to this absolute tolerance: loose enough for
# values computed in another precision, tight enough to catch a permuted or rescaled column
NPZ_VALUE_ATOL = 1e-5


def original_latents(n_images: int = N_IMAGES) -> tuple[np.ndarray, np.ndarray]:
    """The original file's ``latents_classes`` (int64) and ``latents_values`` (float64), (n, 6)
    each, for its first ``n_images`` rows: columns color, shape, scale, orientation, posX, posY."""
    factors = index_to_factors(np.arange(int(n_images)))
    classes = np.zeros((factors.shape[0], 6), dtype=np.int64)
    classes[:, 1:] = factors
    values = np.ones((factors.shape[0], 6), dtype=np.float64)  # color: one value, 1
    values[:, 1:] = factor_values(factors)
    return classes, values


def _npz_member(archive: zipfile.ZipFile, key: str) -> str | None:
    """The archive member holding array ``key`` (np.savez names it ``key.npy``)."""
    names = set(archive.namelist())
    return next((m for m in (f"{key}.npy", key) if m in names), None)


def _npy_header(fh, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an .npy header, leaving ``fh`` at the data."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"{where}: unsupported .npy format version {version}")


def _first_bad_row(found: np.ndarray, expected: np.ndarray, close: bool = False) -> int | None:
    """Index of the first row where ``found`` differs from ``expected``, or None."""
    if close:
        differs = ~np.isclose(found, expected, rtol=0.0, atol=NPZ_VALUE_ATOL)
    else:
        differs = found != expected
    bad = np.flatnonzero(differs.any(axis=1))
    return int(bad[0]) if bad.size else None


def load_npz(path: str | os.PathLike, chunk_frames: int = NPZ_CHUNK) -> np.ndarray:
    """DeepMind's dSprites file, checked, as bit-packed frames (737280, 64, 8) uint8: row i holds
    flat index i, ``unpack`` restores frames (the layout ``render_all`` writes).

    Checked before any frame is decompressed: it is a zip (.npz) archive holding ``imgs``,
    ``latents_classes`` and ``latents_values`` with the shapes and dtypes of ``NPZ_ARRAYS`` (none
    an object array: nothing is unpickled, and ``metadata`` is never read), and the latents are
    this module's grid in its storage order (``original_latents``; a file sorted otherwise would
    pair frames with the wrong factors). Then every frame must be 0/1. Any failure raises a
    one-line ``ValueError`` naming the file and what is wrong.

    Memory: the frames are decompressed ``chunk_frames`` at a time and kept packed 8 to a byte,
    377 MB instead of the 2.9 GB of ``np.load(path)["imgs"]`` (which the 4 GB a training job asks
    for would barely hold next to the model); peak ~0.5 GB with the latents. The real file is
    compressed, so it cannot be memory-mapped; decompressing and checking takes ~10-20 s on one
    core, once per job.
    """
    where = os.fspath(path)
    if int(chunk_frames) != chunk_frames or chunk_frames < 1:
        raise ValueError(f"chunk_frames: expected a positive integer, got {chunk_frames!r}")
    if not os.path.isfile(where):
        raise ValueError(f"{where}: no such file (expected DeepMind's {NPZ_NAME})")
    if not zipfile.is_zipfile(where):
        raise ValueError(f"{where}: not an .npz (zip) archive (expected DeepMind's {NPZ_NAME})")
    try:
        with zipfile.ZipFile(where) as archive:
            return _read_npz(archive, where, int(chunk_frames))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ValueError(f"{where}: corrupt archive ({type(err).__name__}: {err})") from None


def _read_npz(archive: zipfile.ZipFile, where: str, chunk: int) -> np.ndarray:
    """``load_npz``'s checks and reads, on an open archive."""
    members = {key: _npz_member(archive, key) for key in NPZ_ARRAYS}
    missing = [key for key, member in members.items() if member is None]
    if missing:
        raise ValueError(
            f"{where}: missing array(s) {', '.join(missing)}; expected DeepMind's {NPZ_NAME} "
            f"with arrays {', '.join(NPZ_ARRAYS)}"
        )
    for key, (shape, dtype) in NPZ_ARRAYS.items():
        with archive.open(members[key]) as fh:
            found_shape, fortran, found_dtype = _npy_header(fh, f"{where}: '{key}'")
        if found_dtype.hasobject:
            raise ValueError(
                f"{where}: '{key}' is an array of Python objects (dtype {found_dtype}); "
                "refusing to unpickle it"
            )
        if found_shape != shape or found_dtype != dtype:
            raise ValueError(
                f"{where}: '{key}' has shape {found_shape} and dtype {found_dtype.str}, "
                f"expected {shape} and {dtype} (DeepMind's {NPZ_NAME})"
            )
        if fortran and key == "imgs":
            raise ValueError(f"{where}: 'imgs' is stored in Fortran order, expected C order")

    classes, values = original_latents()
    for key, expected, close in (
        ("latents_classes", classes, False),
        ("latents_values", values, True),
    ):
        with archive.open(members[key]) as fh:
            found = np.lib.format.read_array(fh, allow_pickle=False)
        row = _first_bad_row(found, expected, close)
        if row is not None:
            raise ValueError(
                f"{where}: '{key}' row {row} is {found[row].tolist()}, expected "
                f"{expected[row].tolist()}: the file is not the original's grid in its storage "
                "order (color, shape, scale, orientation, posX, posY; posY fastest)"
            )
    del classes, values

    packed = np.empty((N_IMAGES, IMAGE_SIZE, IMAGE_SIZE // 8), dtype=np.uint8)
    buffer = np.empty((min(chunk, N_IMAGES), IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    with archive.open(members["imgs"]) as fh:
        _npy_header(fh, f"{where}: 'imgs'")
        for start in range(0, N_IMAGES, chunk):
            frames = buffer[: min(chunk, N_IMAGES - start)]
            view = memoryview(frames).cast("B")
            got = 0
            while got < len(view):
                n = fh.readinto(view[got:])
                if not n:
                    raise ValueError(
                        f"{where}: 'imgs' is truncated at frame {start + got // IMAGE_SIZE**2}"
                    )
                got += n
            if frames.max() > 1:
                bad = int(np.flatnonzero(frames.reshape(len(frames), -1).max(axis=1) > 1)[0])
                raise ValueError(
                    f"{where}: 'imgs' frame {start + bad} holds value {int(frames[bad].max())}; "
                    "expected binary frames (0/1)"
                )
            packed[start : start + len(frames)] = np.packbits(frames, axis=-1)
        if fh.read(1):  # reading to the end also makes zipfile check the member's CRC
            raise ValueError(f"{where}: 'imgs' has data beyond its declared shape")
    return packed
