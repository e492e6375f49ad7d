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
# # Fig. 2 (encoder): inputs before and after the random mixing MLP f
#
# Left ("after noising"): noisy observations x* + ε_t of 100 trials (5 steps each), coloured by the
# quadrant of x*. Right ("after mixing"): the same observations through the network's frozen
# encoder f (D → 100 → 100 → 40), projected on their first two principal components. Drawn from
# the `encoder_example` table.

# %% tags=["parameters"]
tables = '{"encoder_example": ["results/smoke/examples/rnn_main/encoder.parquet"]}'
pdf = "figures/fig2-encoder.pdf"
png = "figures/fig2-encoder.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["encoder_example"][0])
prov = json.loads(provenance)

# %%
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6.0, 2.8))
colors = df.quadrant.map(style.QUADRANT_COLORS)
ax.scatter(df.obs1, df.obs2, c=colors, s=4)
ax.set(xlabel="x₁ + ε", ylabel="x₂ + ε", title="after noising", aspect="equal")
ax2.scatter(df.pc1, df.pc2, c=colors, s=4)
share = df.explained_variance_3pc.iloc[0]
ax2.set(xlabel="PC 1 of f(x + ε)", ylabel="PC 2", title=f"after mixing (3 PCs: {share:.0%})")
for q in (1, 2, 3, 4):
    ax2.scatter([], [], color=style.QUADRANT_COLORS[q], s=8, label=f"Q{q}")
ax2.legend(fontsize=6, loc="best")
fig.tight_layout()
prov["note"] = f"encoder {df.encoder.iloc[0]}, network seed {int(df.seed.iloc[0])}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame({"encoder": [df.encoder.iloc[0]], "variance_in_3_pcs": [share]})
style.write_summary(summary, claim, table, prov)
