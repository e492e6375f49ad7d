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
# # How much do the disentanglement scores agree? (Locatello et al. 2019, Fig. 4)
#
# Spearman rank correlation between the scores, across every trained dSprites model (all
# methods, hyperparameters and seeds) that passed their health check (the others are left out, as
# in the claims). Colour: ρ from −1 to 1; the lower triangle prints each ρ to one decimal. Drawn
# from the `generative_scores` and `generative_health` tables.

# %% tags=["parameters"]
tables = '{"generative_scores": ["results/smoke/generative/scores/beta_vae-beta1-s0.parquet"]}'
pdf = "figures/vae-metric-correlation.pdf"
png = "figures/vae-metric-correlation.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np

from disentangle.figures import style

style.apply()
df = style.read_tables(tables, "generative_scores")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
left_out = sorted(unhealthy & set(df.model))  # as in the claims: only models that trained
df = df[~df.model.isin(unhealthy)]
scores = [m for m in style.SCORE_LABELS if m in set(df.metric)]
wide = df[df.metric.isin(scores)].pivot_table(index="model", columns="metric", values="value")
wide = wide[scores]
corr = wide.rank().corr()
corr.index = corr.columns = [style.SCORE_LABELS[m] for m in scores]
corr


# %%
def rho_text(v: float) -> str:
    """ρ to one decimal without the leading zero: ".8", "−.3", "1", "0"."""
    r = round(float(v), 1)
    if r == 0:
        return "0"
    if abs(r) == 1:
        return "1" if r > 0 else "−1"
    return f"{r:.1f}".replace("0.", ".").replace("-", "−")


n = len(corr)
fig, (ax,) = style.subplots(1, height=min(style.COLUMN_WIDTH, 1.0 + 0.2 * n))
image, _ = style.signed_heatmap(
    ax,
    corr.to_numpy(),
    label="Spearman ρ",
    percentile=100,
    xticklabels=corr.columns,
    yticklabels=corr.index,
)
ax.tick_params(axis="x", labelrotation=90)
ax.tick_params(length=0)
ax.spines[:].set_visible(False)
if not n:
    ax.text(
        0.5,
        0.5,
        "no model passed its health check",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
# the matrix is symmetric: each ρ is printed once, in the lower triangle, without the leading 0
# (".8", "−.3"); light text on the dark ends of the colour map (its own middle colour)
light, dark = image.cmap(0.5), style.OKABE_ITO["black"]
lim = image.norm.vmax
for i in range(n):
    for j in range(i):
        v = corr.iloc[i, j]
        if np.isfinite(v):
            text = rho_text(v)
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=style.FONT["annotation"],
                color=light if abs(v) > 0.6 * lim else dark,
            )
prov["note"] = f"{len(wide)} models ({', '.join(sorted(df.method.unique()))})"
if left_out:
    prov["note"] += f"; left out, failed health check: {', '.join(left_out)}"
# the footnote counts the models left out (the summary's note names them)
n_methods = df.method.nunique()
short = f"{len(wide)} models, {n_methods} method{'s' if n_methods != 1 else ''}"
if left_out:
    short += (
        f"; {len(left_out)} model{'s' if len(left_out) != 1 else ''} left out (failed health check)"
    )
style.footnote(fig, {**prov, "note": short})
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, corr.reset_index(names="score"), prov)
