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
# Left: the N decision boundaries c_iᵀx = 0 through the origin of the latent square, the trial's
# latent x* (star) and its noisy observations x* + ε_t (dots). Right: the two evidence channels
# over the stimulus period, noisy vs true. Drawn from the `task_example` table.

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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["task_example"][0])
prov = json.loads(provenance)
lines = df[df.kind == "boundary"]
trace = df[df.kind == "trace"]

# %%
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6.4, 2.8), gridspec_kw={"width_ratios": [1, 1.4]})
for r in lines.itertuples():
    d = np.array([r.c2, -r.c1])  # along the boundary, perpendicular to its normal
    ax.plot(*(np.outer([-1, 1], d)).T, color="0.55", lw=0.7)
ax.scatter(trace.obs1, trace.obs2, s=6, color=style.METRIC_COLORS["ood_r2"], label="noisy")
ax.scatter(trace.x1.iloc[:1], trace.x2.iloc[:1], marker="*", s=80, color="k", label="x*", zorder=3)
ax.set(xlim=(-0.5, 0.5), ylim=(-0.5, 0.5), xlabel="x₁", ylabel="x₂", aspect="equal")
ax.set_title(f"{len(lines)} tasks", fontsize=9)
ax.legend(fontsize=6, loc="lower left")
colors = ["#4c72b0", "#c44e52"]
for j, (obs, true) in enumerate((("obs1", "x1"), ("obs2", "x2"))):
    ax2.plot(trace.step, trace[obs], color=colors[j], lw=1, label=f"noisy x{j + 1}")
    ax2.plot(trace.step, trace[true], color=colors[j], lw=1, ls="--", label=f"true x{j + 1}")
ax2.set(xlabel="time step (100 ms)", ylabel="evidence")
ax2.legend(fontsize=6, ncol=2, loc="upper right")
fig.tight_layout()
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
