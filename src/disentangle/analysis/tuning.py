"""Tuning of single units to the latents on a stimulus grid (the paper's "representations learned"
rasters, Fig. 4 [unverified numbering]; docs/replication.md, "Sparsity, dynamics and
tuning"; the authors' analyze.py and analyze_transformer.py).

- RNN raster: noise-free stimuli on the 8 × 8 grid (x1, x2) ∈ linspace(−.5, .5, 8)²; as in the
  authors' code the input is the stimulus period alone (20 steps of [fixation 1, f(x)], no fixation
  or decision step) and the state after its last step is the unit's response. ``full_trial=True``
  uses the last (decision) step of a whole trial instead.
- Correlation maps: per unit, the Pearson correlation over the 8 grid values of x1 between x1 and
  the unit's response averaged over x2 (and the same for x2).
- GPT-2 analogue: the attention value vectors of the last token (8 heads × 8 dims) when [1, f(x)]
  is held constant over all 22 tokens; value = LN₁(x) @ W_v + b_v, W_v the last third of
  ``attn_w``.

All return tidy tables with columns x1, x2, unit, rate ("rate" is the state value: a firing rate
for the ReLU RNNs, a signed activation for LSTM/GRU states and GPT-2 values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from disentangle.analysis.dynamics import (
    held_input,
    member_encoder,
    member_network,
    noise_free_trajectories,
)
from disentangle.models.gpt2 import GPT2, LN_EPS
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import TaskSpec

N_GRID = 8
GRID_LIMIT = 0.5
COLUMNS = ("x1", "x2", "unit", "rate")


def grid_latents(n_grid: int = N_GRID, limit: float = GRID_LIMIT) -> torch.Tensor:
    """The (n_grid², 2) stimulus grid linspace(−limit, limit, n_grid)², x1 varying slowest."""
    if n_grid < 2:
        raise ValueError(f"n_grid = {n_grid}: expected >= 2")
    values = torch.linspace(-limit, limit, n_grid)
    x1, x2 = torch.meshgrid(values, values, indexing="ij")
    return torch.stack([x1.reshape(-1), x2.reshape(-1)], dim=1)


def _check_2d(task: TaskSpec) -> None:
    if task.dim != 2:
        raise ValueError(f"task.dim = {task.dim}: the tuning grid is defined for D = 2")


def _table(x: torch.Tensor, responses: torch.Tensor) -> pd.DataFrame:
    """Tidy rows (x1, x2, unit, rate) from latents (n, 2) and responses (n, U)."""
    n, units = responses.shape
    xs = x.detach().cpu().numpy().astype(np.float64)
    return pd.DataFrame(
        {
            "x1": np.repeat(xs[:, 0], units),
            "x2": np.repeat(xs[:, 1], units),
            "unit": np.tile(np.arange(units), n),
            "rate": responses.detach().cpu().numpy().astype(np.float64).reshape(-1),
        }
    )


@torch.no_grad()
def tuning_grid(
    model,
    encoder: MixingEncoder,
    task: TaskSpec,
    k: int,
    n_grid: int = N_GRID,
    full_trial: bool = False,
) -> pd.DataFrame:
    """Responses of member k's units to the noise-free n_grid × n_grid stimulus grid: the state
    after the stimulus period (authors' protocol) or, with ``full_trial``, at a trial's end."""
    _check_2d(task)
    x = grid_latents(n_grid)
    if full_trial:
        states, _ = noise_free_trajectories(model, encoder, task, k, x)
        return _table(x, states[:, -1])
    net, enc = member_network(model, k), member_encoder(encoder, k)
    device = next(net.parameters()).device
    feats = enc(x.to(device)[None])  # (1, n, F)
    u = held_input(task, feats)[:, :, None, :].expand(-1, -1, task.stimulus_steps, -1)
    u = u.contiguous()
    return _table(x, net(u)[0, :, -1])


def tuning_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Per unit, the correlation of its response with x1 (averaged over x2) and with x2 (averaged
    over x1): columns unit, corr_x1, corr_x2. A flat tuning curve gives NaN."""
    missing = set(COLUMNS) - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}: expected {list(COLUMNS)}")
    out = {"unit": np.sort(table["unit"].unique())}
    for name in ("x1", "x2"):
        curves = table.groupby(["unit", name])["rate"].mean().unstack(name)  # (units, grid)
        curves = curves.loc[out["unit"]]
        grid = curves.columns.to_numpy(dtype=np.float64)
        y = curves.to_numpy(dtype=np.float64)
        gc = grid - grid.mean()
        yc = y - y.mean(axis=1, keepdims=True)
        denom = np.sqrt((gc**2).sum() * (yc**2).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(denom > 0, (yc @ gc) / denom, np.nan)
        out[f"corr_{name}"] = corr
    return pd.DataFrame(out)


@torch.no_grad()
def gpt_value_vectors(
    model, encoder: MixingEncoder, task: TaskSpec, k: int, n_grid: int = N_GRID
) -> pd.DataFrame:
    """GPT-2 member k's attention value vector at the last token for each grid stimulus, with
    [1, f(x)] held over all ``task.n_steps`` tokens; unit = head · d_head + dim (8 × 8 = 64)."""
    if not isinstance(model, GPT2):
        raise ValueError(f"gpt_value_vectors: expected a GPT2 ensemble, got {type(model).__name__}")
    _check_2d(task)
    x = grid_latents(n_grid)
    net, enc = member_network(model, k), member_encoder(encoder, k)
    device = next(net.parameters()).device
    feats = enc(x.to(device)[None])[0]  # (n, F)
    u = held_input(task, feats)[:, None, :].expand(-1, task.n_steps, -1)  # same at every token
    e = net.hidden_size
    emb = u @ net.w_in[0] + net.b_in[0]  # no positional embeddings (zeroed in the paper)
    ln = F.layer_norm(emb, (e,), eps=LN_EPS) * net.ln1_w[0] + net.ln1_b[0]
    values = ln @ net.attn_w[0, :, 2 * e :] + net.attn_b[0, 2 * e :]  # (n, T, E) = heads × d_head
    return _table(x, values[:, -1])
