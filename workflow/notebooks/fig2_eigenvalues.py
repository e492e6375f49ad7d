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
# # Fig. 2 (eigenvalues): Jacobian spectrum at the fixed points and time-scale amplification
#
# Left: eigenvalues λ of the Jacobian of F(h) − h at every distinct fixed point. A stable network
# has them inside the unit circle centred at −1 (drawn); a 2-D continuous attractor has two of
# them at ≈ 0 (marginal directions along the attractor). Right: the time-scale amplification
# A = τ_net/τ of the top two eigenvalues, τ_net = dt/|ln|λ + 1||: how much longer than a single
# unit the network integrates along those directions. Drawn from the `spectrum` table.

# %% tags=["parameters"]
tables = '{"spectrum": ["results/smoke/analysis/rnn_main/spectrum.parquet"]}'
pdf = "figures/fig2-eigenvalues.pdf"
png = "figures/fig2-eigenvalues.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import numpy as np

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["spectrum"][0])
prov = json.loads(provenance)
top = df[df["rank"] < 2]
top

# %%
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6.0, 2.8))
theta = np.linspace(0, 2 * np.pi, 200)
ax.plot(np.cos(theta) - 1, np.sin(theta), color="0.6", lw=0.8)
ax.axvline(0, **style.REFERENCE_STYLE)
rest = df[df["rank"] >= 2]
ax.scatter(rest.real, rest.imag, s=4, color="0.4", label="other")
ax.scatter(top.real, top.imag, s=10, color=style.METRIC_COLORS["ood_r2"], label="top 2")
ax.set(xlabel="Re λ", ylabel="Im λ", aspect="equal")
ax.legend(fontsize=6, loc="lower left")
amp = top.amplification.replace(np.inf, np.nan).dropna()
ax2.hist(amp, bins=min(40, max(5, len(amp))), color=style.METRIC_COLORS["ood_r2"])
ax2.set(xlabel="time-scale amplification τ_net / τ", ylabel="count (top-2 modes)")
fig.tight_layout()
prov["note"] = (
    f"{df.point.nunique()} fixed points; median top-2 Re λ = {top.real.median():.3f}, "
    f"median amplification {amp.median():.1f}"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = df.groupby("rank").agg(
    median_real=("real", "median"),
    max_real=("real", "max"),
    median_abs_imag=("imag", lambda v: v.abs().median()),
)
table = table.reset_index().head(4)
table["median_amplification"] = [
    top[top["rank"] == r].amplification.median() if r < 2 else float("nan") for r in table["rank"]
]
style.write_summary(summary, claim, table, prov)
