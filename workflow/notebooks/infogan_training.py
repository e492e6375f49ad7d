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
# # InfoGAN on dSprites: did it train, and what do its codes move?
#
# (a) The discriminator's and generator's losses over training (at balance the discriminator's
# loss is 2 log 2 ≈ 1.39, the dash-dotted line; a discriminator that wins at once drives it to 0
# while the generator's climbs). (b) The mutual-information term L_I of each code type (a lower
# bound on I(c; G(z, c)); flat at its chance value when the codes carry nothing). A short history
# is drawn with a marker at each logged step. (c) Traversals of each continuous code over [−1, 1]
# (evenly spaced values; the ends on the axis) with the noise fixed, each row labelled with
# what it moves, measured on the generated frames (`disentangle.figures.traversal`). One legend
# below the panels; a model that failed its health check is titled so. Drawn from the
# `generative_history`, `generative_health` and `traversals` tables (seed 0).

# %% tags=["parameters"]
tables = (
    '{"generative_history": ["results/smoke/generative/history/infogan-s0.parquet"],'
    ' "traversals": ["results/smoke/generative/traversals/infogan-s0.parquet"]}'
)
pdf = "figures/infogan-training.pdf"
png = "figures/infogan-training.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json
import math

import numpy as np
import pandas as pd

from disentangle.figures import style
from disentangle.figures.traversal import what_moves

style.apply()
history = style.read_tables(tables, "generative_history")
trav = style.read_tables(tables, "traversals")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
seed = int(history.seed.min())
history = history[history.seed == seed]
trav = trav[trav.seed == seed]
model = history.model.iloc[0]
wide = history.pivot_table(index="step", columns="quantity", values="value")
# a code type the model has: its health table checks its information term (a model without a
# categorical code logs L_I = 0 for it, which is not a measurement)
health = style.read_tables(tables, "generative_health")
checked = set(health[health.model == model].check) if len(health) else set()
for part in ("continuous", "categorical"):
    if f"mi_{part}" in wide and f"mi_{part}_fraction" not in checked:
        wide = wide.drop(columns=f"mi_{part}")
wide

# %%
fig, (ax_loss, ax_mi, ax_trav) = style.subplots(
    3, ncols=3, height=2.6, gridspec_kw={"width_ratios": [1, 1, 1.4]}
)
quantities = {
    "discriminator_loss": "discriminator loss",
    "generator_loss": "generator loss",
    "mi_continuous": "L_I, continuous codes",
    "mi_categorical": "L_I, categorical code",
}
palette = style.series_colors("quantity", list(quantities))
marker = "o" if len(wide) <= 20 else None  # a short history: mark the logged steps
for ax, keys in ((ax_loss, list(quantities)[:2]), (ax_mi, list(quantities)[2:])):
    for key in keys:
        if key in wide and wide[key].notna().any():
            label = quantities[key].replace("L_I", "$L_I$")
            ax.plot(
                wide.index, wide[key], color=palette[key], lw=1, marker=marker, ms=3, label=label
            )
    ax.set_xlabel("training step")
style.reference_line(ax_loss, y=2 * math.log(2), kind="theory", label="2 log 2 ≈ 1.39 (balance)")
ax_loss.set_ylabel("loss")
ax_mi.set_ylabel("$L_I$ (nats)")

rows = []
latents = sorted(trav.latent.unique())
steps = sorted(trav.step.unique())
tile, gap = 64, 0.1
stride = tile + max(1, round(gap * tile))  # style.mosaic's tile spacing, in pixels
tiles, labels = [], []
for latent in latents:
    frames = []
    for step in steps:
        img = trav[(trav.latent == latent) & (trav.step == step)].image.iloc[0]
        frames.append(np.asarray(img, dtype=float).reshape(tile, tile))
    tiles += frames
    moved, pixels = what_moves(frames)
    labels.append(f"c{latent}: {moved}")
    rows.append({"model": model, "code": int(latent), "moves": moved, "range_px": pixels})
style.mosaic(ax_trav, tiles, len(steps), gap=gap, scale="shared", vmin=0, vmax=1)
values = trav.groupby("step").value.first()
centre = (tile - 1) / 2
ends = [0, len(steps) - 1]
ax_trav.set_xticks(
    [c * stride + centre for c in ends],
    [f"{values[steps[c]]:g}".replace("-", "−") for c in ends],
)
ax_trav.set_xlabel("code value")
ax_trav.set_yticks([r * stride + centre for r in range(len(latents))], labels)
ax_trav.tick_params(length=0)
title = "InfoGAN" + (f" ({style.UNHEALTHY_LABEL})" if model in unhealthy else "")
fig.suptitle(title)
style.legend_outside(fig, ncol=3)
prov["note"] = f"seed {seed}, {int(wide.index.max())} steps"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)

# %%
last = wide.iloc[-1].rename("last logged").to_frame().join(wide.iloc[0].rename("first logged"))
summary_table = pd.concat(
    [
        last.reset_index().rename(columns={"quantity": "what"}),
        pd.DataFrame(rows).rename(columns={"code": "what"}),
    ],
    ignore_index=True,
)
style.write_summary(summary, claim, summary_table, prov)
