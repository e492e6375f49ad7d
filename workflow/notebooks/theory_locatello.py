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
# # Locatello et al. (2019): the likelihood cannot tell a disentangled code from an entangled one
#
# Left: invariances at machine precision. For a factorised standard Gaussian prior the density is
# unchanged by a rotation R (|log p(Rz) − log p(z)|); for factorised non-Gaussian priors the map
# z ↦ F⁻¹(Φ(R·Φ⁻¹(F(z)))) is a bijection whose change-of-variables density equals the prior
# (residual) and which inverts exactly (round trip). Right: yet the transformed code is entangled —
# the share of each output's Jacobian carried by its main input is far below 1 (1 = disentangled),
# while the outputs stay distributed like the prior (Kolmogorov–Smirnov statistic of each marginal
# below the 1 % critical value; a plain rotation of the non-Gaussian code is far above it).
# Third panel: the same on a trained VAE (iVAE synthetic data, linear mixing): its latent space
# rotated at random, and rotated to align best with the true sources, has the same marginal
# likelihood log p(x) (importance sampling, independent draws) but a very different MCC — the
# likelihood cannot prefer the disentangled code.

# %% tags=["parameters"]
tables = (
    '{"theory": ["results/smoke/theory/locatello.parquet",'
    ' "results/smoke/theory/locatello_vae.parquet"]}'
)
pdf = "figures/theory-locatello.pdf"
png = "figures/theory-locatello.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
frames = {f.check.iloc[0]: f for f in map(read_parquet, json.loads(tables)["theory"])}
df = frames["locatello"]
vae = frames.get("locatello_vae")
prov = json.loads(provenance)
wide = df.pivot_table(index=["part", "dim"], columns="metric", values="value")
wide

# %%
fig, (ax, ax2, ax3) = plt.subplots(1, 3, figsize=(8.8, 2.7))
residuals = {
    ("gaussian", "max_abs_logdensity_diff"): "Gaussian: Δ log p under rotation",
    ("non_gaussian", "max_abs_logdensity_residual"): "non-Gaussian: density residual",
    ("non_gaussian", "max_abs_roundtrip_err"): "non-Gaussian: round trip",
}
dims = sorted(df.dim.unique())
width = 0.8 / len(dims)
for i, d in enumerate(dims):
    vals = [wide.loc[(part, d), metric] for part, metric in residuals]
    ax.barh(
        np.arange(len(residuals)) + i * width,
        np.maximum(vals, 1e-18),
        height=width,
        label=f"D = {d}",
        color=style.series_colors("dim", dims)[d],
    )
ax.set_yticks(np.arange(len(residuals)) + width, list(residuals.values()), fontsize=6)
ax.set(xscale="log", xlabel="max abs value (float64 eps ≈ 2e-16)")
ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=4))
ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
ax.legend(fontsize=5)
for i, d in enumerate(dims):
    g = wide.loc[("non_gaussian", d)]
    ax2.scatter(d, g.dominant_share, color="k", s=14, label="main-input share" if i == 0 else None)
    ax2.scatter(
        d,
        g.max_ks_output / g.ks_critical_1pct,
        marker="x",
        color="#4c72b0",
        s=18,
        label="KS / 1 % critical (bijection)" if i == 0 else None,
    )
    ax2.scatter(
        d,
        g.max_ks_plain_rotation / g.ks_critical_1pct,
        marker="^",
        color="#c44e52",
        s=16,
        label="KS / 1 % critical (plain rotation)" if i == 0 else None,
    )
ax2.axhline(1, **style.REFERENCE_STYLE)
ax2.set(yscale="log", xlabel="latent dimension D", ylabel="ratio")
ax2.set_xticks(dims)
ax2.legend(fontsize=5)
if vae is not None:
    wide_vae = vae.pivot_table(index="model", columns="metric", values="value")
    for name, r in wide_vae.iterrows():
        ax3.errorbar(
            r.mcc,
            r.log_px_diff_vs_original,
            yerr=2 * r.log_px_diff_standard_error,
            marker="o",
            capsize=2,
            label=name,
        )
    ax3.axhline(0, **style.REFERENCE_STYLE)
    ax3.set(
        xlabel="MCC with the true sources", ylabel="Δ log p(x) vs original (±2 SE)", xlim=(0, 1)
    )
    ax3.legend(fontsize=5)
fig.tight_layout()
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = wide.reset_index()
if vae is not None:
    table = pd.concat(
        [table, vae.pivot_table(index="model", columns="metric", values="value").reset_index()],
        ignore_index=True,
    )
style.write_summary(summary, claim, table, prov)
