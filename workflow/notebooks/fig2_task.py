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
# # Fig. 2 (task): classification lines and a noisy evidence stream
#
# (a) The N decision boundaries c_iᵀx = 0 through the origin of the latent square (grey lines),
# the trial's latent x* (star) and its noisy observations x* + ε_t, one dot per time step.
# (b) The two evidence channels x₁ and x₂ over the stimulus period: noisy (solid) vs true
# (dashed). One legend below both plots. Drawn from the `task_example` table.

# %% tags=["parameters"]
tables = '{"task_example": ["results/smoke/examples/rnn_main/task.parquet"]}'
pdf = "figures/fig2-task.pdf"
png = "figures/fig2-task.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["task_example"][0])
prov = json.loads(provenance)
lines = df[df.kind == "boundary"]
trace = df[df.kind == "trace"]

# %%
fig, (ax, ax2) = style.subplots(
    2, ncols=2, width=style.TEXT_WIDTH, height=2.8, gridspec_kw={"width_ratios": [1, 1.5]}
)
# colours: the two evidence channels, the noisy observations; x* in black (Okabe–Ito)
channel = style.series_colors("evidence", ["x₁", "x₂", "x* + ε"])
black = style.OKABE_ITO["black"]
boundary = {"color": style.REFERENCE_STYLE["color"], "lw": 0.5, "alpha": 0.6, "zorder": 0}
for i, r in enumerate(lines.itertuples()):
    d = np.array([r.c2, -r.c1])  # along the boundary, perpendicular to its normal
    label = f"{len(lines)} task boundaries cᵢᵀx = 0" if i == 0 else None
    ax.plot(*(np.outer([-1, 1], d)).T, label=label, **boundary)
ax.scatter(
    trace.obs1, trace.obs2, s=7, color=channel["x* + ε"], label="observations x* + εₜ", zorder=2
)
ax.scatter(
    trace.x1.iloc[:1], trace.x2.iloc[:1], marker="*", s=90, color=black, label="latent x*", zorder=3
)
ax.set(xlim=(-0.5, 0.5), ylim=(-0.5, 0.5), xlabel="x₁", ylabel="x₂", aspect="equal")
ax.set_title(f"{len(lines)} tasks")
for j, (obs, true) in enumerate((("obs1", "x1"), ("obs2", "x2"))):
    c = channel[f"x{'₁₂'[j]}"]
    ax2.plot(trace.step, trace[obs], color=c, lw=1, label=f"observed x{'₁₂'[j]} + ε")
    ax2.plot(trace.step, trace[true], color=c, lw=1, ls="--", label=f"true x{'₁₂'[j]}")
ax2.set(xlabel="time step (100 ms)", ylabel="evidence")
ax2.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
ax2.set_title("evidence over the stimulus period")
style.legend_outside(fig, ncol=4)
prov["note"] = f"σ = {df.noise_sd.iloc[0]:g} per step, {int(df.stimulus_steps.iloc[0])} steps"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame(
    {
        "tasks": [len(lines)],
        "noise_sd": [df.noise_sd.iloc[0]],
        "stimulus_steps": [int(df.stimulus_steps.iloc[0])],
    }
)
style.write_summary(summary, claim, table, prov)
