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
# [−2.5, 2.5] with the others at the posterior mean, and decodes. Rows are sorted by the latent's
# KL for this frame (informative latents first); the six most informative are shown. Left: the
# smallest β of the sweep, right: the largest (seed 0). A disentangled model changes one factor per
# row (position, scale, rotation, shape). Drawn from the `traversals` tables.

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
prov = json.loads(provenance)
first_seed = df[df.seed == df.seed.min()]
values = sorted(first_seed.swept_value.dropna().unique()) or [None]
chosen = [values[0], values[-1]] if len(values) > 1 else values
n_rows = 6

# %%
fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 2.8), squeeze=False)
table = []
for ax, value in zip(axes[0], chosen, strict=True):
    part = first_seed if value is None else first_seed[first_seed.swept_value == value]
    order = part.groupby("latent").kl.first().sort_values(ascending=False).index[:n_rows]
    steps = sorted(part.step.unique())
    mosaic = np.ones((64 * len(order) + len(order) - 1, 64 * len(steps) + len(steps) - 1))
    for r, latent in enumerate(order):
        for c, step in enumerate(steps):
            img = part[(part.latent == latent) & (part.step == step)].image.iloc[0]
            mosaic[r * 65 : r * 65 + 64, c * 65 : c * 65 + 64] = np.asarray(img).reshape(64, 64)
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks(
        [r * 65 + 32 for r in range(len(order))],
        [f"z{latent} (KL {part[part.latent == latent].kl.iloc[0]:.1f})" for latent in order],
        fontsize=5,
    )
    hyper = style.HYPER_LABELS.get(part.swept.iloc[0], part.swept.iloc[0])
    label = style.METHOD_LABELS.get(part.method.iloc[0], part.method.iloc[0])
    ax.set_title(f"{label}" + (f", {hyper} = {value:g}" if value is not None else ""), fontsize=8)
    table.append(
        {
            "model": part.model.iloc[0],
            "kl_of_top_latents": ", ".join(
                f"{k:.2f}"
                for k in part.groupby("latent").kl.first().sort_values(ascending=False)[:n_rows]
            ),
        }
    )
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, pd.DataFrame(table), prov)
