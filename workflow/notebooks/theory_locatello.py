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
# likelihood cannot prefer the disentangled code (bars: ±2 standard errors, in the footnote).
# Reference lines (machine ε, ratio 1, Δ = 0) are legend entries; one legend below the plots.

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


def decades(values, step: int = 1) -> list[float]:
    """Powers of ten spanning ``values`` (every ``step``-th), for style.log_axis."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    lo, hi = int(np.floor(np.log10(v.min()))), int(np.ceil(np.log10(v.max())))
    return [10.0**e for e in range(lo, hi + 1, step)]


EPS = float(np.finfo(float).eps)
fig, (ax, ax2, ax3) = style.subplots(3, height=2.5)
residuals = {
    ("gaussian", "max_abs_logdensity_diff"): "Gaussian:\nΔ log p, rotation",
    ("non_gaussian", "max_abs_logdensity_residual"): "non-Gaussian:\ndensity residual",
    ("non_gaussian", "max_abs_roundtrip_err"): "non-Gaussian:\nround trip",
}
dims = sorted(df.dim.unique())
dim_colors = style.series_colors("dim", dims)
width = 0.8 / len(dims)
bars = []
for i, d in enumerate(dims):
    vals = [wide.loc[(part, d), metric] for part, metric in residuals]
    bars += vals
    ax.barh(
        np.arange(len(residuals)) + i * width,
        np.maximum(vals, 1e-18),
        height=width,
        label=f"D = {d}",
        color=dim_colors[d],
    )
style.reference_line(ax, x=EPS, label="float64 machine ε (2.2e-16)", kind="reference")
ax.set_yticks(np.arange(len(residuals)) + width, list(residuals.values()))
ax.set(xlabel="max absolute error")
style.log_axis(ax, decades([*bars, EPS]), "x")
ax.set_xlim(left=decades([*bars, EPS])[0])
ax.xaxis.set_major_formatter(matplotlib.ticker.LogFormatterSciNotation())
quantities = {  # name: (marker, legend label)
    "share": ("o", "main-input share of the Jacobian"),
    "ks": ("x", "KS / 1 % critical value (bijection)"),
    "ks_plain": ("^", "KS / 1 % critical value (plain rotation)"),
}
qcolors = style.series_colors("quantity", list(quantities))
ratios = []
for i, d in enumerate(dims):
    g = wide.loc[("non_gaussian", d)]
    values = {
        "share": g.dominant_share,
        "ks": g.max_ks_output / g.ks_critical_1pct,
        "ks_plain": g.max_ks_plain_rotation / g.ks_critical_1pct,
    }
    for name, (marker, label) in quantities.items():
        ratios.append(values[name])
        ax2.scatter(
            d,
            values[name],
            marker=marker,
            color=qcolors[name],
            s=18,
            label=label if i == 0 else None,
        )
style.reference_line(
    ax2, y=1, label="1: disentangled share, or the KS critical value", kind="reference"
)
ax2.set(xlabel="latent dimension D", ylabel="ratio")
ax2.set_xticks(dims)
style.log_axis(
    ax2,
    [
        t
        for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
        if min(ratios) / 2 <= t <= max(ratios) * 2
    ],
    "y",
)
n_z = round((1.628 / wide.ks_critical_1pct.dropna().iloc[0]) ** 2)  # critical value 1.628/√n
note = f"a: largest error over {n_z} sampled z per D; b: share averaged over the outputs"
if vae is not None:
    wide_vae = vae.pivot_table(index="model", columns="metric", values="value")
    model_colors = style.series_colors("model", list(wide_vae.index))
    for name, r in wide_vae.iterrows():
        ax3.errorbar(
            r.mcc,
            r.log_px_diff_vs_original,
            yerr=2 * r.log_px_diff_standard_error,
            marker="o",
            ms=4,
            capsize=2,
            color=model_colors[name],
            ls="none",
            label=f"VAE latents: {name}",
        )
    style.reference_line(ax3, y=0, label="Δ log p(x) = 0", kind="reference")
    ax3.set(xlabel="MCC with the true sources", ylabel="Δ log p(x) vs original (nats)", xlim=(0, 1))
    samples = int(vae.importance_samples.iloc[0])
    note += (
        f"\nc: one trained VAE; bars: ±2 standard errors of the importance-sampling "
        f"estimate ({samples} samples per x)"
    )
style.legend_outside(fig, ncol=3)
style.footnote(fig, prov | {"note": note})
style.save(fig, pdf, png, prov)
table = wide.reset_index()
if vae is not None:
    table = pd.concat(
        [table, vae.pivot_table(index="model", columns="metric", values="value").reset_index()],
        ignore_index=True,
    )
style.write_summary(summary, claim, table, prov)
