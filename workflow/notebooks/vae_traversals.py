# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Latent traversals (the β-VAE paper's figure)
#
# One dSprites frame (a large square in the middle) is encoded; each row varies one latent over
# the values on the x axis (in prior standard deviations) with the others at the posterior mean,
# and decodes. Rows are sorted by the latent's KL for this frame (informative latents first, KL in
# nats, two significant figures); the six most informative are shown. Left: the smallest β of the
# sweep, right: the largest (seed 0). A disentangled model changes one factor per row (position,
# scale, rotation, shape). What each row moves is measured on the decoded frames, not judged by
# eye: the range over the row of the frame's centroid (x, y) and linear size (√ of its summed
# intensity), in pixels; the largest is named if it exceeds one pixel, else "shape/rotation" when
# the frames still change (mean |Δ| between the row's ends above 0.02 per pixel) and "no change"
# otherwise. A model that failed its health check is titled so. Drawn from the `traversals` and
# `generative_health` tables.

# %% tags=["parameters"]
tables = '{"traversals": ["results/smoke/generative/traversals/beta_vae-beta1-s0.parquet"]}'
pdf = "figures/vae-traversals.pdf"
png = "figures/vae-traversals.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from disentangle.figures import style

style.apply()
df = style.read_tables(tables, "traversals")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
first_seed = df[df.seed == df.seed.min()]
values = sorted(first_seed.swept_value.dropna().unique()) or [None]
chosen = [values[0], values[-1]] if len(values) > 1 else values
n_rows = 6
MOVE_PIXELS, CHANGE_PER_PIXEL = 1.0, 0.02


def moments(img: np.ndarray) -> np.ndarray:
    """Centroid x, centroid y and linear size (√ summed intensity) of a decoded frame, pixels."""
    mass = img.sum()
    if mass <= 0:
        return np.array([np.nan, np.nan, 0.0])
    rows, cols = np.indices(img.shape)
    return np.array([(img * cols).sum() / mass, (img * rows).sum() / mass, np.sqrt(mass)])


def what_moves(frames: list[np.ndarray]) -> tuple[str, float]:
    """The factor a traversal row moves (the markdown above), and by how many pixels."""
    m = np.array([moments(f) for f in frames])
    ranges = np.nanmax(m, axis=0) - np.nanmin(m, axis=0)
    best = int(np.nanargmax(ranges)) if np.isfinite(ranges).any() else 0
    if np.isfinite(ranges[best]) and ranges[best] > MOVE_PIXELS:
        return ["x position", "y position", "scale"][best], float(ranges[best])
    if np.abs(frames[-1] - frames[0]).mean() > CHANGE_PER_PIXEL:
        return "shape/rotation", float(np.nanmax(ranges))
    return "no change", float(np.nanmax(ranges))


def kl_text(kl: float) -> str:
    return f"{kl:.2g}"


# %%
fig, axes = plt.subplots(
    1, len(chosen), figsize=(style.PANEL_SIZE[0] * len(chosen), 2.9), squeeze=False
)
table = []
for ax, value in zip(axes[0], chosen, strict=True):
    part = first_seed if value is None else first_seed[first_seed.swept_value == value]
    kls = part.groupby("latent").kl.first().sort_values(ascending=False)
    order = kls.index[:n_rows]
    steps = sorted(part.step.unique())
    step_values = part.groupby("step").value.first()
    gap = 6  # white pixels between tiles
    size = 64 + gap
    mosaic = np.full((size * len(order) - gap, size * len(steps) - gap), np.nan)
    labels = []
    for r, latent in enumerate(order):
        frames = []
        for c, step in enumerate(steps):
            img = part[(part.latent == latent) & (part.step == step)].image.iloc[0]
            img = np.asarray(img, dtype=float).reshape(64, 64)
            frames.append(img)
            mosaic[r * size : r * size + 64, c * size : c * size + 64] = img
        moved, pixels = what_moves(frames)
        labels.append(f"z{latent} · KL {kl_text(kls[latent])}\n{moved}")
        table.append(
            {
                "model": part.model.iloc[0],
                "latent": int(latent),
                "kl_nats": float(kls[latent]),
                "moves": moved,
                "largest_range_px": pixels,
                "healthy": part.model.iloc[0] not in unhealthy,
            }
        )
    cmap = plt.get_cmap("gray_r").copy()
    cmap.set_bad("white")
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    for spine in ax.spines.values():
        spine.set_visible(False)
    shown = [0, len(steps) - 1]
    ax.set_xticks(
        [c * size + 32 for c in shown], [f"{step_values[steps[c]]:+.2g}" for c in shown]
    )
    ax.set_xlabel("latent value (prior sd)")
    ax.set_yticks([r * size + 32 for r in range(len(order))], labels)
    ax.tick_params(length=0)
    hyper = style.HYPER_LABELS.get(part.swept.iloc[0], part.swept.iloc[0])
    label = style.METHOD_LABELS.get(part.method.iloc[0], part.method.iloc[0])
    title = f"{label}" + (f", {hyper} = {value:g}" if value is not None else "")
    if part.model.iloc[0] in unhealthy:
        title += f"\n({style.UNHEALTHY_LABEL})"
    ax.set_title(title)
fig.tight_layout()
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, pd.DataFrame(table), prov)
