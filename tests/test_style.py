"""The figure style: sizes, palettes, layout helpers and the pre-save figure checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from disentangle.figures import style  # noqa: E402


@pytest.fixture(autouse=True)
def _theme():
    style.apply()
    yield
    plt.close("all")


def _clean_figure():
    fig, ax = plt.subplots(figsize=style.PANEL_SIZE, layout="constrained")
    ax.plot([1, 2, 3], [0.2, 0.5, 0.9], marker="o", label="model")
    ax.set_xlabel("number of tasks")
    ax.set_ylabel("OOD r²")
    style.legend_outside(fig)
    return fig


def test_a_clean_column_figure_passes():
    assert style.check_figure(_clean_figure()) == []


def test_a_wide_figure_with_tiny_text_is_flagged():
    fig, ax = plt.subplots(figsize=(8, 2.5), layout="constrained")
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("tiny label", fontsize=5)
    problems = style.check_figure(fig)
    assert any("wide" in p and "7 in" in p for p in problems), problems
    assert any("'tiny label'" in p and "5 pt" in p for p in problems), problems


def test_small_tick_labels_and_hidden_axes():
    fig, axes = style.subplots(2)
    axes[0].plot([0, 1], [0, 1])
    axes[0].tick_params(labelsize=4)
    problems = style.check_figure(fig)
    assert any("4 pt" in p for p in problems), problems
    fig, axes = style.subplots(2)
    axes[1].set_xlabel("hidden", fontsize=3)
    axes[1].set_visible(False)
    assert style.check_figure(fig) == []


def _legend_over_points(outside: bool):
    fig, ax = plt.subplots(figsize=style.PANEL_SIZE, layout="constrained")
    x = np.linspace(0, 1, 41)
    ax.plot(x, np.full_like(x, 0.5), marker="o", label="a flat line of points")
    ax.set_ylim(0, 1)
    if outside:
        style.legend_outside(ax)
    else:
        ax.legend(loc="center")
    return fig


def test_a_legend_on_top_of_data_is_flagged_and_outside_it_is_not():
    problems = style.check_figure(_legend_over_points(outside=False))
    assert len(problems) == 1 and "legend" in problems[0], problems
    assert "a flat line of points" in problems[0]
    assert style.check_figure(_legend_over_points(outside=True)) == []


def test_a_legend_on_bars_or_scatter_is_flagged():
    fig, ax = plt.subplots(figsize=style.PANEL_SIZE, layout="constrained")
    ax.bar([0, 1, 2], [1, 1, 1], width=0.95, label="bars")
    ax.legend(loc="center")
    assert any("legend" in p for p in style.check_figure(fig))
    fig, ax = plt.subplots(figsize=style.PANEL_SIZE, layout="constrained")
    grid = np.linspace(0, 1, 30)
    ax.scatter(*np.meshgrid(grid, grid), s=2, label="dots")
    ax.legend(loc="center")
    assert any("legend" in p for p in style.check_figure(fig))


def test_legend_outside_deduplicates_and_sits_below(tmp_path):
    fig, axes = style.subplots(2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="same")
        ax.legend()
    legend = style.legend_outside(fig, title="series")
    assert [t.get_text() for t in legend.get_texts()] == ["same"]
    assert all(ax.get_legend() is None for ax in axes)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    assert all(box.y1 <= ax.bbox.y0 for ax in axes)
    fig, ax = plt.subplots(figsize=style.PANEL_SIZE)  # no layout engine
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_xlabel("x")
    legend = style.legend_outside(fig, where="right")
    fig.canvas.draw()
    assert legend.get_window_extent(fig.canvas.get_renderer()).x0 >= ax.bbox.x1
    assert style.check_figure(fig) == []


def test_save_raises_in_strict_mode_and_warns_otherwise(tmp_path, monkeypatch):
    def bad():
        fig, ax = plt.subplots(figsize=(8, 2), layout="constrained")
        ax.plot([0, 1], [0, 1])
        return fig

    pdf, png = tmp_path / "panel.pdf", tmp_path / "panel.png"
    monkeypatch.setenv("DISENTANGLE_FIGURE_CHECKS", "strict")
    with pytest.raises(style.FigureCheckError, match="panel.pdf") as caught:
        style.save(bad(), str(pdf), str(png), {"preset": "test"})
    assert isinstance(caught.value, ValueError) and "wide" in str(caught.value)
    assert not pdf.exists() and not png.exists()
    monkeypatch.setenv("DISENTANGLE_FIGURE_CHECKS", "warn")
    with pytest.warns(UserWarning, match=r"panel\.pdf: .*wide"):
        style.save(bad(), str(pdf), str(png), {"preset": "test"})
    assert pdf.stat().st_size > 0 and png.stat().st_size > 0


def test_save_of_a_clean_figure_is_silent(tmp_path, monkeypatch, recwarn):
    monkeypatch.setenv("DISENTANGLE_FIGURE_CHECKS", "strict")
    fig = _clean_figure()
    style.footnote(fig, {"preset": "test"})
    style.save(fig, str(tmp_path / "p.pdf"), str(tmp_path / "p.png"), {"preset": "test"})
    assert (tmp_path / "p.pdf").exists()
    assert not [w for w in recwarn if "p.pdf" in str(w.message)]


def test_subplots_wraps_five_panels_into_two_rows_with_letters():
    fig, axes = style.subplots(5)
    assert len(axes) == 5 and all(ax.get_visible() for ax in axes)
    assert len({round(ax.get_position().y0, 3) for ax in axes}) == 2
    hidden = [ax for ax in fig.axes if not ax.get_visible()]
    assert len(hidden) == 1
    assert fig.get_figwidth() <= style.TEXT_WIDTH
    letters = [t.get_text() for ax in axes for t in ax.texts if t.get_gid() == "panel-letter"]
    assert letters == list("abcde")
    assert all(t.get_fontweight() == "bold" for ax in axes for t in ax.texts)
    assert style.check_figure(fig) == []
    one, (ax,) = style.subplots(1)
    assert one.get_figwidth() == style.COLUMN_WIDTH
    wide, _ = style.subplots(2, width=12)
    assert wide.get_figwidth() == style.TEXT_WIDTH


def test_panel_letters_sit_outside_the_data():
    fig, axes = style.subplots(2, letters=False)
    texts = style.panel_letters(axes)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax, text in zip(axes, texts, strict=True):
        box = text.get_window_extent(renderer)
        assert box.y0 >= ax.bbox.y1 - 1 and box.x1 <= ax.bbox.x0 + 1


def test_r2_axis_and_edge_markers_keep_the_floor():
    fig, ax = plt.subplots()
    values = [0.9, -3.0]
    hidden = style.r2_axis(ax, values)
    assert list(hidden) == [-3.0]
    bottom, top = ax.get_ylim()
    assert bottom >= style.R2_FLOOR and bottom == pytest.approx(style.R2_FLOOR)
    assert top == pytest.approx(1.02)
    handle = style.edge_markers(ax, [1, 2], values, floor=bottom, color="k")
    assert handle.get_label() == "below the axis (value printed)"
    assert handle.get_marker() == "v"
    printed = [t for t in ax.texts if t.get_text() == "-3"]
    assert len(printed) == 1 and printed[0].get_fontsize() == style.FONT["annotation"]
    markers = [ln for ln in ax.lines if ln.get_marker() == "v"]
    assert len(markers) == 1 and markers[0].get_ydata()[0] == pytest.approx(bottom)
    assert ax.get_ylim()[0] == pytest.approx(bottom)
    ax2 = plt.figure().add_subplot()
    assert style.r2_axis(ax2, [0.5, 0.8]).size == 0
    assert ax2.get_ylim() == pytest.approx((0.45, 1.02))


def test_log_axis_labels_are_the_plain_values():
    fig, ax = plt.subplots()
    values = [1, 2, 4, 8, 16, 0.25]
    ax.plot(values, values, "o")
    style.log_axis(ax, values)
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    assert list(ax.get_xticks()) == [0.25, 1, 2, 4, 8, 16]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "1", "2", "4", "8", "16"]
    assert len(ax.xaxis.get_minorticklocs()) == 0


def test_signed_heatmap_limits_are_symmetric_and_ignore_an_outlier():
    fig, ax = plt.subplots(layout="constrained")
    rng = np.random.default_rng(0)
    m = rng.uniform(-1, 1, size=(20, 20))
    m[0, 0] = 1000.0
    m[1, 1] = np.nan
    image, cbar = style.signed_heatmap(ax, m, label="Δ r²", percentile=98)
    vmin, vmax = image.get_clim()
    expected = np.percentile(np.abs(m[np.isfinite(m)]), 98)
    assert vmin == pytest.approx(-vmax) and vmax == pytest.approx(expected)
    assert vmax < 2
    assert cbar.ax.get_ylabel() == "Δ r²"
    assert image.cmap(image.norm(1000.0)) == image.cmap(1.0)  # saturates at the top colour


def test_mosaic_leaves_nan_gaps_between_tiles():
    fig, ax = plt.subplots()
    tiles = [np.full((10, 10), float(i)) for i in range(4)]
    image = style.mosaic(ax, tiles, 2, gap=0.2, scale="shared", titles=["a", "b", "c", "d"])
    canvas = np.asarray(image.get_array().filled(np.nan), dtype=float)
    assert canvas.shape == (22, 22)
    assert np.isnan(canvas[:, 10:12]).all() and np.isnan(canvas[10:12, :]).all()
    assert canvas[0, 0] == 0 and canvas[0, 12] == 1 and canvas[12, 12] == 3
    assert image.get_clim() == (0, 3)
    assert mcolors.to_hex(image.cmap.get_bad()) == "#ffffff"
    assert len(ax.get_xticks()) == 0 and len(ax.get_yticks()) == 0
    assert not any(spine.get_visible() for spine in ax.spines.values())
    per = style.mosaic(
        plt.figure().add_subplot(),
        [np.arange(4.0).reshape(2, 2) * k for k in (1, 10)],
        2,
        scale="per_tile",
    )
    data = np.asarray(per.get_array().filled(np.nan), dtype=float)
    assert np.nanmax(data) == 1 and np.nanmin(data) == 0
    assert data[1, 1] == data[1, 4] == 1  # each tile on its own range


def test_color_raises_naming_meaning_and_key():
    assert style.color("metric", "ood_r2") == style.METRIC_COLORS["ood_r2"]
    with pytest.raises(KeyError, match="'transformer'.*'architecture'"):
        style.color("architecture", "transformer")
    with pytest.raises(KeyError, match="'mood'.*'x'"):
        style.color("mood", "x")


def test_palettes_are_distinct_and_cover_the_labels():
    for meaning, palette in style.PALETTES.items():
        hexes = [mcolors.to_hex(c) for c in palette.values()]
        assert len(set(hexes)) == len(hexes), meaning
    assert set(style.METHOD_LABELS) <= set(style.PALETTES["method"])
    assert set(style.ARCHITECTURE_LABELS) <= set(style.PALETTES["architecture"])
    assert style.ARCHITECTURE_COLORS is style.PALETTES["architecture"]
    assert style.QUADRANT_COLORS is style.PALETTES["quadrant"]
    lstm, gpt2 = (
        np.array(mcolors.to_rgb(style.color("architecture", k))) for k in ("lstm", "gpt2")
    )
    assert np.abs(lstm - gpt2).sum() > 0.4


def test_sequential_and_series_colors():
    colors = style.sequential(4)
    assert len(set(colors)) == 4
    assert all(sum(mcolors.to_rgb(c)) < 2.4 for c in colors)  # still visible on white
    assert style.series_colors("dim", [8, 2, 4]) == dict(
        zip([2, 4, 8], style.sequential(3), strict=True)
    )
    assert style.series_colors("metric", ["ood_r2"]) == {"ood_r2": style.METRIC_COLORS["ood_r2"]}
    assert style.series_colors("encoder", ["relu"]) == {"relu": style.color("mixing", "relu")}
    other = style.series_colors("kappa", ["a", "b"])
    assert len(set(other.values())) == 2


def test_describe_bars_and_reference_lines():
    assert style.describe_bars(5) == "median over 5 networks; bars: interquartile range"
    one = style.describe_bars(1)
    assert "1 network" in one and "1 networks" not in one
    assert "1 seed" in style.describe_bars(1, unit="seeds")
    assert "1 seeds" not in style.describe_bars(1, unit="seeds")
    assert style.BAR_NOTE == "points: median; bars: interquartile range"
    fig, ax = plt.subplots()
    dashes = {
        style.reference_line(ax, y=0.5, label=kind, kind=kind).get_linestyle()
        for kind in ("reference", "ceiling", "chance")
    }
    assert len(dashes) == 3
    assert [t for t in ax.get_legend_handles_labels()[1]] == ["reference", "ceiling", "chance"]
    assert not ax.texts
    poly = style.band(ax, [0, 1], [0, 0], [1, 1], "#0072B2", "range")
    assert "range" in ax.get_legend_handles_labels()[1] and poly.get_alpha() == 0.2
    with pytest.raises(ValueError):
        style.reference_line(ax, label="both", x=1, y=1)


def test_apply_sets_the_fonts():
    rc = matplotlib.rcParams
    assert rc["xtick.labelsize"] == style.FONT["tick"]
    assert rc["legend.fontsize"] == style.FONT["legend"]
    assert rc["axes.labelsize"] == style.FONT["label"]
    assert rc["axes.titlesize"] == style.FONT["title"]
    assert rc["legend.title_fontsize"] == style.FONT["legend"]
    assert style.PANEL_SIZE == (style.COLUMN_WIDTH, 2.6)
    fig = plt.figure()
    style.footnote(fig, {"preset": "x"})
    assert fig.texts[-1].get_fontsize() == style.FONT["footnote"]


def test_footnote_sits_below_a_legend_placed_below_the_axes():
    """With a constrained layout and a legend below the plots, the footnote lands under the
    legend, not on it (the layout is run and frozen before the footnote is placed)."""
    fig, axes = style.subplots(2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a series with a long label")
        ax.plot([0, 1], [1, 0], label="another series")
    legend = style.legend_outside(fig, where="below", ncol=1)
    style.footnote(fig, {"preset": "smoke", "note": "a footnote"})
    renderer = fig.canvas.get_renderer()
    note = fig.texts[-1].get_window_extent(renderer)
    box = legend.get_window_extent(renderer)
    assert note.y1 <= box.y0 + 0.5, (note, box)
    plt.close(fig)


@pytest.mark.parametrize("pinned", [True, False])
def test_tight_save_keeps_the_legend_above_the_footnote(tmp_path, monkeypatch, pinned):
    """Saving with a tight box re-anchors a legend placed "outside" a constrained layout to the
    saved box's edge, onto the footnote; ``footnote`` pins the figure's legends where the layout
    put them, so in the saved figure too the footnote is under the legend (without the pin, it is
    not: the test's own control)."""
    if not pinned:
        monkeypatch.setattr(style, "pin_legends", lambda fig: None)
    fig, axes = style.subplots(2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="a series with a long label")
        ax.plot([0, 1], [1, 0], label="another series")
    legend = style.legend_outside(fig, where="below", ncol=1)
    style.footnote(fig, {"preset": "smoke", "note": "a footnote\non two lines"})
    note = fig.texts[-1]
    seen = []
    fig.canvas.mpl_connect(
        "draw_event",
        lambda e: seen.append(
            (legend.get_window_extent(e.renderer), note.get_window_extent(e.renderer))
        ),
    )
    fig.savefig(tmp_path / "p.png", bbox_inches="tight")
    plt.close(fig)
    assert seen
    clear = all(n.y1 <= box.y0 + 0.5 for box, n in seen)
    assert clear is pinned, seen
