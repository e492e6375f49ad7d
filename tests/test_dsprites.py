"""The procedural dSprites renderer: grid, index arithmetic, geometry and the measured look."""

from __future__ import annotations

import math

import numpy as np
import pytest

from disentangle.data import dsprites as ds

SQUARE, ELLIPSE, HEART = 0, 1, 2
STEP = 32.0 / 31.0  # anchor step per position index, px

# Pixel areas measured on real frames (reference notes section 3), scales 0.5 ... 1.0.
MEASURED_AREAS = {
    SQUARE: [100, 144, 196, 256, 324, 400],
    ELLIPSE: [76, 104, 144, 184, 228, 288],
    HEART: [58, 84, 108, 140, 182, 222],
}


def rows(shape=0, scale=5, orientation=0, pos_x=15, pos_y=15) -> np.ndarray:
    """Factor rows with the given (scalar or array) columns, broadcast against each other."""
    cols = np.broadcast_arrays(
        *(np.atleast_1d(c) for c in (shape, scale, orientation, pos_x, pos_y))
    )
    return np.stack(cols, axis=1).astype(np.int64)


def xor(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of differing pixels per frame."""
    return (a != b).sum(axis=(1, 2))


def centroids(frames: np.ndarray) -> np.ndarray:
    """(x, y) centroid in pixel coordinates (pixel centres at +0.5) of each frame: (n, 2)."""
    grid = np.arange(ds.IMAGE_SIZE) + 0.5
    mass = frames.sum(axis=(1, 2)).astype(float)
    return np.stack(
        [(frames.sum(axis=1) * grid).sum(1) / mass, (frames.sum(axis=2) * grid).sum(1) / mass], 1
    )


def extents(frame: np.ndarray) -> tuple[int, int]:
    """Width and height of the bounding box of the on pixels."""
    r, c = np.nonzero(frame)
    return int(c.max() - c.min() + 1), int(r.max() - r.min() + 1)


ALL_POSITIONS = np.array([(i, j) for i in range(32) for j in range(32)])


def areas_over_positions(shape: int, scale: int, orientation: int = 0) -> np.ndarray:
    """Pixel areas of one shape at all 1024 positions."""
    f = rows(shape, scale, orientation, ALL_POSITIONS[:, 0], ALL_POSITIONS[:, 1])
    return ds.render(f).sum(axis=(1, 2))


# --- grid and index arithmetic ---------------------------------------------------------------


def test_grid_constants():
    assert ds.FACTOR_SIZES == (3, 6, 40, 32, 32)
    assert ds.FACTOR_NAMES == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert ds.N_IMAGES == 737280 == math.prod(ds.FACTOR_SIZES)
    np.testing.assert_allclose(ds.SCALES, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0], atol=1e-15)
    assert ds.ORIENTATIONS[0] == 0.0 and ds.ORIENTATIONS[-1] == 2 * math.pi
    np.testing.assert_allclose(np.diff(ds.ORIENTATIONS), 2 * math.pi / 39, rtol=1e-12)
    np.testing.assert_allclose(np.diff(ds.POSITIONS), 1 / 31, rtol=1e-12)
    assert ds.POSITIONS[0] == 0.0 and ds.POSITIONS[-1] == 1.0


def test_flat_index_known_values():
    np.testing.assert_array_equal(ds.index_to_factors(0), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ds.index_to_factors(737279), [2, 5, 39, 31, 31])
    # shape·245760 + scale·40960 + orientation·1024 + posX·32 + posY
    assert ds.factors_to_index(rows(1, 2, 3, 4, 5))[0] == 245760 + 2 * 40960 + 3 * 1024 + 4 * 32 + 5
    np.testing.assert_array_equal(
        ds.index_to_factors(np.array([1, 32, 1024])), np.eye(5, dtype=int)[[4, 3, 2]]
    )


def test_index_round_trip_random_and_corners():
    rng = np.random.default_rng(0)
    sizes = np.array(ds.FACTOR_SIZES)
    corners = np.array(np.meshgrid(*[[0, s - 1] for s in sizes], indexing="ij")).reshape(5, -1).T
    f = np.concatenate([ds.sample_factors(20000, rng), corners])
    np.testing.assert_array_equal(ds.index_to_factors(ds.factors_to_index(f)), f)
    flat = rng.integers(0, ds.N_IMAGES, 20000)
    np.testing.assert_array_equal(ds.factors_to_index(ds.index_to_factors(flat)), flat)


def test_flat_order_is_row_major_with_pos_y_fastest():
    f = ds.index_to_factors(np.arange(ds.N_IMAGES))
    np.testing.assert_array_equal(ds.factors_to_index(f), np.arange(ds.N_IMAGES))  # a bijection
    # lexicographic order of rows == flat order, and pos_y cycles fastest
    key = np.lexsort(f.T[::-1])
    np.testing.assert_array_equal(key, np.arange(ds.N_IMAGES))
    np.testing.assert_array_equal(f[:33, 4], np.r_[np.arange(32), 0])
    np.testing.assert_array_equal(f[:33, 3], np.r_[np.zeros(32, int), 1])


def test_factor_values():
    v = ds.factor_values(rows([0, 2], [0, 5], [0, 39], [0, 31], [0, 31]))
    np.testing.assert_allclose(v[0], [1, 0.5, 0, 0, 0])
    np.testing.assert_allclose(v[1], [3, 1.0, 2 * math.pi, 1, 1])
    assert ds.factor_values(rows(1, 3, 13, 7, 9)).dtype == np.float64
    np.testing.assert_allclose(
        ds.factor_values(rows(1, 3, 13, 7, 9))[0], [2, 0.8, 13 * 2 * math.pi / 39, 7 / 31, 9 / 31]
    )


def test_sample_factors_uniform_and_seeded():
    f = ds.sample_factors(120000, np.random.default_rng(1))
    assert f.shape == (120000, 5) and np.issubdtype(f.dtype, np.integer)
    for k, size in enumerate(ds.FACTOR_SIZES):
        counts = np.bincount(f[:, k], minlength=size)
        assert counts.size == size  # nothing out of range
        expected = len(f) / size
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < size - 1 + 5 * math.sqrt(2 * (size - 1))  # far from non-uniform
    np.testing.assert_array_equal(
        ds.sample_factors(50, np.random.default_rng(7)),
        ds.sample_factors(50, np.random.default_rng(7)),
    )
    assert (
        ds.sample_factors(50, np.random.default_rng(7))
        != ds.sample_factors(50, np.random.default_rng(8))
    ).any()


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="shape \\(n, 5\\)"):
        ds.render(np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="orientation index"):
        ds.render(rows(orientation=40))
    with pytest.raises(ValueError, match="pos_y index"):
        ds.factors_to_index(rows(pos_y=-1))
    with pytest.raises(ValueError, match="integer"):
        ds.render(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="flat_index"):
        ds.index_to_factors(ds.N_IMAGES)
    with pytest.raises(TypeError, match="rng"):
        ds.sample_factors(3, 0)
    with pytest.raises(ValueError, match="chunk_size"):
        ds.render(rows(), chunk_size=0)


# --- rendering basics ----------------------------------------------------------------------------


def test_render_dtype_shape_values_and_chunking():
    f = ds.sample_factors(300, np.random.default_rng(2))
    img = ds.render(f)
    assert img.shape == (300, 64, 64) and img.dtype == np.uint8
    assert set(np.unique(img)) == {0, 1}
    assert img.sum(axis=(1, 2)).min() >= 50  # every frame holds a shape (smallest heart 55 px)
    np.testing.assert_array_equal(ds.render(f, chunk_size=7), img)
    np.testing.assert_array_equal(ds.render_flat(ds.factors_to_index(f)), img)
    assert ds.render(np.zeros((0, 5), int)).shape == (0, 64, 64)


def test_coverage_margin_closed_form_and_monte_carlo():
    # known answers: axis-aligned edge t - 1/2; 45° edge sqrt(2)/2 - sqrt(1 - t)
    assert ds.coverage_margin(np.array(1.0), np.array(0.0), 0.5) == 0.0
    np.testing.assert_allclose(ds.coverage_margin(np.array(1.0), np.array(0.0), 7 / 8), 0.375)
    c45 = math.sqrt(0.5)
    np.testing.assert_allclose(ds.coverage_margin(c45, c45, 7 / 8), c45 - math.sqrt(1 / 8))
    np.testing.assert_allclose(ds.coverage_margin(c45, c45, 3 / 4), c45 - 0.5)
    # the covered fraction of a unit pixel at that margin is t, for random normals and thresholds
    rng = np.random.default_rng(3)
    pts = rng.random((200000, 2)) - 0.5
    for phi, t in zip(rng.uniform(0, 2 * math.pi, 6), rng.uniform(0.5, 0.97, 6), strict=True):
        m = ds.coverage_margin(np.array(math.cos(phi)), np.array(math.sin(phi)), t)
        covered = (pts @ [math.cos(phi), math.sin(phi)] <= m).mean()
        assert abs(covered - t) < 0.005


def brute_coverage(row: np.ndarray, k: int = 16) -> np.ndarray:
    """Coverage of every pixel by the exact square/ellipse outline from k×k subsamples."""
    shape, scale, ori, px, py = row
    s, th = ds.SCALES[scale], ds.ORIENTATIONS[ori]
    ax, ay = 16 + 32 * ds.POSITIONS[px], 16 + 32 * ds.POSITIONS[py]
    sub = (np.arange(64 * k) + 0.5) / k
    dx, dy = np.meshgrid(sub - ax, sub - ay)
    x, y = dx * math.cos(th) - dy * math.sin(th), dx * math.sin(th) + dy * math.cos(th)
    if shape == SQUARE:
        inside = (np.abs(x) <= 10 * s) & (np.abs(y) <= 10 * s)
    else:
        inside = (x / (13 * s)) ** 2 + (y / (7.5 * s)) ** 2 <= 1
    return inside.reshape(64, k, 64, k).mean(axis=(1, 3))


def test_analytic_coverage_rule_matches_supersampling():
    """Rotated squares (≥ 7/8) and ellipses (≥ 3/4) against 16×16-supersampled coverage."""
    rng = np.random.default_rng(4)
    for shape, t in ((SQUARE, 7 / 8), (ELLIPSE, 3 / 4)):
        f = ds.sample_factors(12, rng)
        f[:, 0] = shape
        f[:, 2] = np.where(f[:, 2] % 39 == 0, 5, f[:, 2])  # rotated squares only
        img = ds.render(f).astype(bool)
        n_on = n_bad = 0
        for i, row in enumerate(f):
            cov = brute_coverage(row)
            bad = img[i] != (cov >= t)
            n_on += img[i].sum()
            n_bad += bad.sum()
            # disagreements only where the coverage is within 0.05 of the threshold (corners of
            # the square, curvature of the ellipse, subsampling)
            assert np.all(np.abs(cov[bad] - t) < 0.05)
        assert n_bad <= 0.005 * n_on


# --- geometry --------------------------------------------------------------------------------


def test_area_grows_with_scale_roughly_quadratically():
    rng = np.random.default_rng(5)
    f = ds.sample_factors(200, rng)
    for shape in range(3):
        mean_area = []
        for scale in range(6):
            g = f.copy()
            g[:, 0], g[:, 1] = shape, scale
            mean_area.append(ds.render(g).sum(axis=(1, 2)).mean())
        assert np.all(np.diff(mean_area) > 0), (shape, mean_area)
        # area ∝ scale² would give 4; the measured real ratios are 4.0, 3.79, 3.83
        ratio = mean_area[-1] / mean_area[0]
        assert 3.6 < ratio < 4.4, (shape, ratio)
        # and the per-frame areas are monotone along scale for the same orientation/position
        per_frame = np.stack(
            [
                ds.render(np.c_[g[:, :1], np.full(200, s), g[:, 2:]]).sum(axis=(1, 2))
                for s in range(6)
            ]
        )
        assert np.all(np.diff(per_frame, axis=0) > 0)


def test_square_quarter_turn_symmetry():
    """Orientations 10 steps apart differ by 92.3°, the closest the 40-step grid gets to 90°."""
    k = np.arange(1, 30)  # both ends rotated (indices 0 and 39 use the pixel-centre rule)
    for scale in (0, 5):
        side = 20 * ds.SCALES[scale]
        a, b = ds.render(rows(SQUARE, scale, k)), ds.render(rows(SQUARE, scale, k + 10))
        c = ds.render(rows(SQUARE, scale, k + 5))  # 46°: not a symmetry
        # a 2.3° turn moves the outline by < 0.4 px: at most half a pixel per unit of perimeter
        assert xor(a, b).max() <= 0.5 * 4 * side
        assert xor(a, b).mean() <= 0.25 * 4 * side
        # while a 45° turn changes 2 (1 - 2 (√2 - 1)) side² ≈ 0.34 side² of the area
        assert xor(a, c).mean() >= 0.25 * side**2


def test_ellipse_half_turn_symmetry():
    """Orientations 19 and 20 steps apart differ by 175.4° and 184.6° (180° is 19.5 steps)."""
    k = np.arange(20)
    for scale in (0, 5):
        a1, b1 = 13 * ds.SCALES[scale], 7.5 * ds.SCALES[scale]
        perimeter = 2 * math.pi * math.sqrt((a1 * a1 + b1 * b1) / 2)
        a = ds.render(rows(ELLIPSE, scale, k))
        quarter = ds.render(rows(ELLIPSE, scale, k + 10))
        for steps in (19, 20):
            b = ds.render(rows(ELLIPSE, scale, k + steps))
            assert xor(a, b).max() <= 0.5 * perimeter
            assert xor(a, b).mean() <= 0.35 * perimeter
        assert xor(a, quarter).mean() >= 0.5 * a.sum(axis=(1, 2)).mean()
        # and each frame is exactly point-symmetric about its anchor (pos 0: anchor at (16, 16))
        frame = ds.render(rows(ELLIPSE, scale, k, 0, 0))
        np.testing.assert_array_equal(frame[:, :32, :32], frame[:, 31::-1, 31::-1])


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_mirror_symmetry_about_the_anchor(shape):
    """Orientation 39 - k is the angle -θ: the left-right mirror of k (every shape is symmetric in
    its local x); squares and ellipses are also up-down mirrors. Exact at pos 0 (anchor 16, 16)."""
    k = np.arange(40)
    a = ds.render(rows(shape, 5, k, 0, 0))
    b = ds.render(rows(shape, 5, 39 - k, 0, 0))
    np.testing.assert_array_equal(b[:, :32, :32], a[:, :32, 31::-1])
    if shape != HEART:
        np.testing.assert_array_equal(b[:, :32, :32], a[:, 31::-1, :32])
    else:  # the heart is not up-down symmetric at orientation 0
        assert xor(a[:1, :32, :32], a[:1, 31::-1, :32])[0] > 50


def test_orientation_zero_and_two_pi_identical():
    sc, ox, oy = np.meshgrid(np.arange(6), [0, 13, 31], [0, 20, 31], indexing="ij")
    for shape in range(3):
        a = ds.render(rows(shape, sc.ravel(), 0, ox.ravel(), oy.ravel()))
        b = ds.render(rows(shape, sc.ravel(), 39, ox.ravel(), oy.ravel()))
        np.testing.assert_array_equal(a, b)


def test_rotation_is_counter_clockwise_on_screen():
    """The heart's lobes (its centroid) sit above the anchor at 0; a quarter turn takes them
    left."""
    anchor = 16 + 32 * ds.POSITIONS[15]
    c = centroids(ds.render(rows(HEART, 5, [0, 10, 20, 30], 15, 15))) - anchor
    assert c[0, 1] < -2 and abs(c[0, 0]) < 0.2  # up
    assert c[1, 0] < -2 and abs(c[1, 1]) < 0.5  # left (92.3°)
    assert c[2, 1] > 1.8  # down
    assert c[3, 0] > 1.8  # right


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_position_moves_centroid_linearly(shape):
    idx = np.arange(32)
    for ori in (0, 7, 13):
        for axis, f in ((0, rows(shape, 5, ori, idx, 9)), (1, rows(shape, 5, ori, 22, idx))):
            c = centroids(ds.render(f))
            slope, intercept = np.polyfit(idx, c[:, axis], 1)
            assert np.ptp(c[:, 1 - axis]) < 0.3  # the other coordinate stays put
            if ori == 0 and shape == SQUARE:
                # the axis-aligned square always covers 20 whole columns: its centroid follows the
                # anchor in whole-pixel steps (a staircase within half a pixel of it)
                np.testing.assert_allclose(c[:, axis], 16 + STEP * idx, atol=0.5)
                continue
            # posX → columns, posY → rows, 32/31 px a step (a 1 px step would be 3 % off)
            assert abs(slope - STEP) < 0.006 * STEP
            assert np.abs(c[:, axis] - (slope * idx + intercept)).max() < 0.2
            if shape != HEART:  # square and ellipse: the centroid is the anchor
                np.testing.assert_allclose(c[:, axis], 16 + STEP * idx, atol=0.2)


def test_shapes_stay_inside_frame_at_extreme_positions():
    ext = [(0, 0), (0, 31), (31, 0), (31, 31)]
    for shape in range(3):
        for px, py in ext:
            f = rows(shape, 5, np.arange(40), px, py)
            img = ds.render(f).astype(np.int64)
            r = np.nonzero(img.any(axis=2))[1]
            c = np.nonzero(img.any(axis=1))[1]
            assert r.min() >= 1 and c.min() >= 1 and r.max() <= 62 and c.max() <= 62
            # nothing is clipped: the same area as in the middle of the frame, up to rasterisation
            mid = ds.render(rows(shape, 5, np.arange(40), 15, 16)).sum(axis=(1, 2)).astype(np.int64)
            assert np.abs(img.sum(axis=(1, 2)) - mid).max() <= 0.05 * mid.max()


def test_shapes_are_distinct():
    img = ds.render(rows([0, 1, 2], 5, 0, 15, 15))
    area = img.sum(axis=(1, 2))
    assert area[SQUARE] > area[ELLIPSE] + 60 > area[HEART] + 120
    for i in range(3):
        for j in range(i + 1, 3):
            assert xor(img[i : i + 1], img[j : j + 1])[0] > 100
    # widths/heights: square 20×20, ellipse wide and flat, heart 19-20 × 17-18
    (wsq, hsq), (wel, hel), (whe, hhe) = (extents(im) for im in img)
    assert (wsq, hsq) == (20, 20) and wel > 24 and hel < 16 and hhe < whe <= 20


# --- the measured look (reference notes, "How the original frames look") ---------------------


def test_scale_one_matches_measured_areas_and_extents():
    """At scale 1: square 400, ellipse 288, heart 222 px; square 20×20, heart 20 wide, 17 tall.

    Tolerances: the measured numbers are single frames, and one shape's area moves with the
    sub-pixel position of its anchor (over all 1024 positions: square ±0, ellipse 287-298, heart
    218-227, i.e. ±2 %). So the mean over positions must be within 2 % and the first frame of the
    block (position (0, 0), what reading frame shape·245760 + scale·40960 gives) within one 4-pixel
    step (the frame is 4-fold symmetric there).
    """
    for shape in range(3):
        measured = MEASURED_AREAS[shape][-1]
        a = areas_over_positions(shape, 5)
        assert abs(a.mean() - measured) <= 0.02 * measured, (shape, a.mean())
        assert abs(a[0] - measured) <= 4, (shape, a[0])
    assert np.all(areas_over_positions(SQUARE, 5) == 400)
    first = ds.render(rows([0, 1, 2], 5, 0, 0, 0))
    assert extents(first[SQUARE]) == (20, 20)
    assert extents(first[HEART]) == (20, 17)
    # ellipse: semi-axes 13 × 7.5 eroded by the 3/4-coverage rule (~0.25 px): 25-26 × 14-15 px
    w, h = extents(first[ELLIPSE])
    assert 25 <= w <= 26 and 14 <= h <= 15
    # over all positions the bounding boxes only move by the one-pixel quantisation
    f = rows(HEART, 5, 0, ALL_POSITIONS[::7, 0], ALL_POSITIONS[::7, 1])
    boxes = np.array([extents(im) for im in ds.render(f)])
    assert set(boxes[:, 0]) == {19, 20}
    assert set(boxes[:, 1]) <= {17, 18, 19} and np.mean(boxes[:, 1] <= 18) > 0.9


def test_all_scales_near_measured_areas():
    """Mean area over positions against the measured areas at every scale: within 4 %, except the
    smallest ellipse, which this renderer draws 9 % small (69 vs 76 px): with semi-axes ∝ scale
    and the 3/4-coverage rule the ellipse cannot fit both ends (documented in the module)."""
    for shape in range(3):
        for scale in range(6):
            measured = MEASURED_AREAS[shape][scale]
            mean = areas_over_positions(shape, scale)[::3].mean()
            tol = 0.10 if (shape, scale) == (ELLIPSE, 0) else 0.04
            assert abs(mean - measured) <= tol * measured, (shape, scale, mean, measured)


# --- the full set on disk --------------------------------------------------------------------


def test_render_all_writes_packed_frames(tmp_path):
    path = tmp_path / "dsprites.npz"
    timings = ds.render_all(path, chunk_size=1000, n_images=2500)
    assert set(timings) == {"render_s", "write_s"}
    with np.load(path) as data:
        assert data["imgs_packed"].shape == (2500, 64, 8)
        np.testing.assert_array_equal(data["factor_sizes"], ds.FACTOR_SIZES)
    idx = np.array([0, 1, 999, 1000, 2499])
    np.testing.assert_array_equal(ds.load_frames(path, idx), ds.render_flat(idx))
    assert ds.load_frames(path).shape == (2500, 64, 64)


@pytest.mark.slow  # renders and compresses all 737,280 frames: 45-70 s, ~1 GB of memory
def test_render_all_full_set(tmp_path):
    path = tmp_path / "dsprites_full.npz"
    ds.render_all(path)
    idx = np.random.default_rng(6).integers(0, ds.N_IMAGES, 500)
    frames = ds.load_frames(path, idx)
    np.testing.assert_array_equal(frames, ds.render_flat(idx))
    assert 0.03 < ds.load_frames(path, np.arange(0, ds.N_IMAGES, 97)).mean() < 0.06


def test_original_latents_enumerate_the_grid_in_storage_order():
    """The tables ``load_npz`` holds DeepMind's file to: row i is flat index i."""
    classes, values = ds.original_latents(50_000)
    assert classes.shape == values.shape == (50_000, 6)
    assert (classes[:, 0] == 0).all() and (values[:, 0] == 1.0).all()  # color: one value
    np.testing.assert_array_equal(ds.factors_to_index(classes[:, 1:]), np.arange(50_000))
    np.testing.assert_array_equal(values[:, 1:], ds.factor_values(classes[:, 1:]))
    idx = np.array([0, 7, 49_999])
    packed = np.packbits(ds.render_flat(idx), axis=-1)
    np.testing.assert_array_equal(ds.unpack(packed), ds.render_flat(idx))
    np.testing.assert_array_equal(ds.unpack(packed, [2, 0]), ds.render_flat(idx[[2, 0]]))
