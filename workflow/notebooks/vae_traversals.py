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
# the values on the x axis (in prior standard deviations, one tile per value) with the others at
# the posterior mean, and decodes. Rows are sorted by the latent's KL for this frame (informative
# latents first, KL in nats, two significant figures); the six most informative are shown. (a) The
# smallest β of the sweep, (b) the largest (seed 0); the tiles share one grey scale (intensity
# 0–1). A disentangled model changes one factor per row (position, scale, rotation, shape). What
# each row moves is measured on the decoded frames, not judged by
# eye (`disentangle.figures.traversal`): the range over the row of the frame's centroid (x, y)
# and linear size (√ of its summed intensity), in pixels; the largest is named if it exceeds one
# pixel, else "shape/rotation" when the frames still change and "no change" otherwise. A model
# that failed its health check is titled so. Drawn from the `traversals` and `generative_health`
# tables.

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

import numpy as np
import pandas as pd

from disentangle.figures import style
from disentangle.figures.traversal import what_moves

style.apply()
df = style.read_tables(tables, "traversals")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
first_seed = df[df.seed == df.seed.min()]
values = sorted(first_seed.swept_value.dropna().unique()) or [None]
chosen = [values[0], values[-1]] if len(values) > 1 else values
n_rows = 6


def kl_text(kl: float) -> str:
    # two significant figures, trailing zeros kept (4.0, 0.050; 12 rather than "12.")
    return f"{kl:#.2g}".rstrip(".")


# %%
# the tiles sit (64 + gap) pixels apart on style.mosaic's canvas; the axis ticks are placed on them
tile, gap = 64, 0.1
stride = tile + max(1, round(gap * tile))  # style.mosaic's gap in pixels
fig, axes = style.subplots(
    len(chosen),
    ncols=2,
    width=style.TEXT_WIDTH if len(chosen) > 1 else style.COLUMN_WIDTH,
    height=3.1,
)
table = []
for ax, value in zip(axes, chosen, strict=True):
    part = first_seed if value is None else first_seed[first_seed.swept_value == value]
    kls = part.groupby("latent").kl.first().sort_values(ascending=False)
    order = kls.index[:n_rows]
    steps = sorted(part.step.unique())
    step_values = part.groupby("step").value.first()
    tiles, labels = [], []
    for latent in order:
        frames = []
        for step in steps:
            img = part[(part.latent == latent) & (part.step == step)].image.iloc[0]
            frames.append(np.asarray(img, dtype=float).reshape(tile, tile))
        tiles += frames
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
    style.mosaic(ax, tiles, len(steps), gap=gap, scale="shared", vmin=0, vmax=1)
    centre = (tile - 1) / 2
    ax.set_xticks(
        [c * stride + centre for c in range(len(steps))],
        [f"{step_values[s]:.1f}".replace("-", "−") for s in steps],
    )
    ax.set_xlabel("latent value (prior sd)")
    ax.set_yticks([r * stride + centre for r in range(len(order))], labels)
    ax.tick_params(length=0)
    hyper = style.HYPER_LABELS.get(part.swept.iloc[0], part.swept.iloc[0])
    label = style.METHOD_LABELS.get(part.method.iloc[0], part.method.iloc[0])
    title = f"{label}" + (f", {hyper} = {value:g}" if value is not None else "")
    if part.model.iloc[0] in unhealthy:
        title += f"\n({style.UNHEALTHY_LABEL})"
    ax.set_title(title)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, pd.DataFrame(table), prov)
