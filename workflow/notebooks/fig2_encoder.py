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
# (a) "After noising": noisy observations x* + ε_t of 100 trials (5 steps each), coloured by the
# quadrant of x* (colour-blind-safe quadrant palette; legend below names the quadrants).
# (b) "After mixing": the same observations through the network's frozen encoder f
# (D → 100 → 100 → 40), projected on their first two principal components; the title gives the
# share of variance the first three PCs hold. Drawn from the `encoder_example` table.

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

import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["encoder_example"][0])
prov = json.loads(provenance)

# %%
QUADRANT_NAMES = {
    1: "Q1: x₁ > 0, x₂ > 0",
    2: "Q2: x₁ < 0, x₂ > 0",
    3: "Q3: x₁ < 0, x₂ < 0",
    4: "Q4: x₁ > 0, x₂ < 0",
    0: "on an axis",
}
fig, (ax, ax2) = style.subplots(2, ncols=2, width=style.TEXT_WIDTH, height=3.0)
share = df.explained_variance_3pc.iloc[0]
for q in sorted(df.quadrant.unique(), key=lambda q: (q == 0, q)):
    part = df[df.quadrant == q]
    look = {"s": 4, "color": style.color("quadrant", int(q)), "lw": 0}
    ax.scatter(part.obs1, part.obs2, label=QUADRANT_NAMES[int(q)], **look)
    ax2.scatter(part.pc1, part.pc2, **look)
ax.set(xlabel="x₁ + ε", ylabel="x₂ + ε", title="after noising", aspect="equal")
ax2.set(xlabel="PC1 of f(x* + ε)", ylabel="PC2 of f(x* + ε)")
ax2.set_title(f"after mixing (PC1–3 hold {share:.0%} of the variance)")
legend = style.legend_outside(fig, ncol=2, title="quadrant of x*")
for handle in legend.legend_handles:
    handle.set_sizes([16])  # legend dots larger than the data dots
fig.canvas.draw()  # lay the legend out before the footnote goes below it
prov["note"] = f"encoder {df.encoder.iloc[0]}, network seed {int(df.seed.iloc[0])}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame({"encoder": [df.encoder.iloc[0]], "variance_in_3_pcs": [share]})
style.write_summary(summary, claim, table, prov)
