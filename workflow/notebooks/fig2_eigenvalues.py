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
# (a) Eigenvalues λ of the Jacobian of F(h) − h at every distinct fixed point, the two largest
# (by real part) per point apart from the rest. A stable network has them inside the circle
# |λ + 1| = 1 (drawn, stability boundary); a 2-D continuous attractor has two of them at ≈ 0
# (marginal directions along the attractor; the line Re λ = 0 is drawn). (b) Histogram over the
# fixed points' top two modes of the time-scale amplification A = τ_net/τ, with
# τ_net = dt/|ln|λ + 1||: how much longer than a single unit the network integrates along those
# directions (log axis; the footnote gives the median; modes with an infinite or undefined A
# are left out). Drawn from the `spectrum` table.

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

import numpy as np
from matplotlib.ticker import MaxNLocator

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["spectrum"][0])
prov = json.loads(provenance)
top = df[df["rank"] < 2]
top

# %%
fig, (ax, ax2) = style.subplots(2, ncols=2, width=style.TEXT_WIDTH, height=2.9)
colors = style.series_colors("eigenvalue", ["others", "top two"])
theta = np.linspace(0, 2 * np.pi, 200)
ax.plot(
    np.cos(theta) - 1,
    np.sin(theta),
    lw=style.REFERENCE_STYLE["lw"],
    zorder=0.5,
    label="stability boundary |λ + 1| = 1",
    **style.REFERENCE_KINDS["theory"],
)
style.reference_line(ax, x=0, label="Re λ = 0 (marginal)")
rest = df[df["rank"] >= 2]
ax.scatter(
    rest.real, rest.imag, s=4, lw=0, alpha=0.6, color=colors["others"], label="other eigenvalues"
)
ax.scatter(
    top.real,
    top.imag,
    s=10,
    lw=0,
    color=colors["top two"],
    label="top two (largest Re λ)\nper fixed point",
)
ax.set(xlabel="Re λ", ylabel="Im λ", aspect="equal")
amp = top.amplification.replace(np.inf, np.nan).dropna()
if len(amp):
    lo, hi = float(amp.min()), float(amp.max())
    bins = np.geomspace(lo, hi if hi > lo else lo * 1.01, min(40, max(5, len(amp))) + 1)
    ax2.hist(amp, bins=bins, color=colors["top two"])
    # log ticks at 1-2-5 steps (1-2-3-5 over less than a decade), the axis widened to hold
    # at least two of them
    steps = (1, 2, 5) if hi / lo >= 10 else (1, 1.5, 2, 3, 5, 7)
    nice = np.array([m * 10.0**e for e in range(-2, 6) for m in steps])
    ticks = nice[(nice >= lo / 1.5) & (nice <= hi * 1.5)]
    if len(ticks) < 2:
        ticks = np.array([lo, hi])
    style.log_axis(ax2, ticks)
    ax2.set_xlim(min(lo, ticks[0]) / 1.1, max(hi, ticks[-1]) * 1.1)
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
else:
    ax2.set_axis_off()
    ax2.set_title("no finite amplification")
ax2.set(
    xlabel="time-scale amplification A = $\\tau_\\mathrm{net}/\\tau$",
    ylabel="count (top two modes)",
)
legend = style.legend_outside(fig, where="right")
for handle in legend.legend_handles:
    if hasattr(handle, "set_sizes"):
        handle.set_sizes([16])  # legend dots larger than the data dots
fig.canvas.draw()  # lay the legend out before the footnote goes below it
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
