"""Tidy tables of the analyses, one builder per workflow table kind (``disentangle.config.TABLES``).

Each builder takes a trained ensemble (``disentangle.training.load_trained``) and returns a
DataFrame with one row per measurement; the jobs (``disentangle.jobs``) add the experiment's
settings as columns. The notebooks draw these tables and nothing else.

- ``angle_table``: angle between the decoder read-out axes of every network (Fig. 3c, S12), from a
  ridge decoder fitted on all evaluation trials at the configured penalty, plus the same angle over
  a range of penalties (to show it does not depend on the choice; docs/replication.md,
  "Decisions"); with the networks' boundaries, each angle's prediction from the ideal code of those
  boundaries.
- ``sparsity_table``: Vinje–Gallant lifetime sparseness of every network (Fig. S6).
- ``dynamics_tables``: for one network, noise-free trajectories in PC space, the fixed points of the
  constant-input map and the Jacobian spectrum at each (Fig. 2).
- ``tuning_table``: for one network, single-unit responses on the 8 × 8 stimulus grid and each
  unit's correlation with x1 and x2 (Fig. 4); GPT-2's attention value vectors.
- ``task_example_table`` / ``encoder_example_table``: the task and the mixing encoder (Fig. 2).
"""

from __future__ import annotations

import pandas as pd
import torch

from disentangle.analysis.dynamics import (
    constant_input_map,
    find_fixed_points,
    fixed_point_starts,
    jacobian_spectrum,
    noise_free_trajectories,
    orthant_labels,
    state_pca,
    timescale_amplification,
    unique_points,
)
from disentangle.analysis.geometry import angle_vs_penalty
from disentangle.analysis.sparsity import active_fraction, network_sparsity, signed_rates
from disentangle.analysis.tuning import gpt_value_vectors, tuning_correlations, tuning_grid
from disentangle.metrics.ood import final_states
from disentangle.models.gpt2 import GPT2
from disentangle.seeding import generator
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import TaskSpec, boundary_normals, sample_trials
from disentangle.tasks.spec import LATENT_NOISE_KINDS


def pick_member(members: list[tuple[int, int]], n_tasks: int, seed: int) -> int:
    """Index of the network (n_tasks, seed) that ``analysis.n_tasks`` / ``analysis.seed`` name.

    There is no fallback: validation checks that every analysed experiment has that network, so
    a missing one here is an error (it used to fall back silently to another network)."""
    if (n_tasks, seed) not in members:
        raise SystemExit(
            f"analysis.n_tasks = {n_tasks}, analysis.seed = {seed}: this ensemble has no such"
            f" network (it has {sorted(members)})"
        )
    return members.index((n_tasks, seed))


def angle_table(
    model,
    encoder,
    task: TaskSpec,
    members,
    evaluation: dict,
    penalty: float,
    sweep: list[float],
    boundaries: list[torch.Tensor] | None = None,
) -> pd.DataFrame:
    """Angles between read-out axes, every network, at ``penalty`` and over the ``sweep``. With
    the networks' ``boundaries`` (the ingredients' list, in member order) each row also holds
    ``ideal_deg``: the angle the same ridge decoder gives on the ideal code C·μ of that network's
    boundaries (``geometry.ideal_code_decoder``, evidence noise σ²/T of the task)."""
    if boundaries is not None and len(boundaries) != len(members):
        raise ValueError(f"{len(boundaries)} boundary matrices for {len(members)} networks")
    if boundaries is not None and task.noise not in LATENT_NOISE_KINDS:
        raise ValueError(
            f"task.noise = {task.noise!r}: the ideal code's angles assume evidence noise on x* "
            "(σ²/T); this kind has none there"
        )
    states = final_states(model, encoder, task, evaluation["x_train"], evaluation["noise_train"])
    penalties = sorted({float(penalty), *map(float, sweep)})
    noise_var = task.noise_sd**2 / task.stimulus_steps
    rows = []
    for i, (n_tasks, seed) in enumerate(members):
        c = None if boundaries is None else boundaries[i]
        table = angle_vs_penalty(states[i].cpu(), evaluation["x_train"], penalties, c, noise_var)
        for r in table.itertuples():
            row = {
                "n_tasks": n_tasks,
                "seed": seed,
                "axis_i": r.i,
                "axis_j": r.j,
                "penalty": r.penalty,
                "selected": r.penalty == float(penalty),
                "decoder_train_r2": r.train_r2,
                "metric": "angle_deg",
                "value": r.angle,
            }
            if c is not None:
                row["ideal_deg"] = r.ideal_angle
            rows.append(row)
    return pd.DataFrame(rows)


def sparsity_table(
    model, encoder, task: TaskSpec, members, n_stimuli: int, seed: int, negative: str = "raw"
) -> pd.DataFrame:
    """Lifetime sparseness (%) and the fraction of positive responses of every network."""
    rows = []
    for i, (n_tasks, member_seed) in enumerate(members):
        g = generator("sparsity", seed, task.dim)  # the same stimuli for every network
        value = network_sparsity(model, encoder, task, i, n_stimuli, generator=g, negative=negative)
        g = generator("sparsity", seed, task.dim)
        x = torch.rand((n_stimuli, task.dim), generator=g) - 0.5
        states, _ = noise_free_trajectories(model, encoder, task, i, x)
        active = active_fraction(signed_rates(states[:, -2], negative))
        for metric, v in (("sparsity_pct", value), ("active_fraction", active)):
            rows.append({"n_tasks": n_tasks, "seed": member_seed, "metric": metric, "value": v})
    return pd.DataFrame(rows)


def dynamics_tables(
    model,
    encoder,
    task: TaskSpec,
    k: int,
    seed: int,
    n_trials: int = 40,
    n_starts: int = 128,
    n_iters: int = 10_000,
    n_components: int = 10,
):
    """Trajectories in PC space, fixed points (projected) and their Jacobian spectra, network k.
    Eigenvalues are sorted by real part (rank 0 first); the amplification of the top two."""
    g = generator("dynamics", seed)
    x = torch.rand((n_trials, task.dim), generator=g) - 0.5
    states, labels = noise_free_trajectories(model, encoder, task, k, x)
    pca = state_pca(states, min(n_components, states.shape[-1]))
    n, t, _ = states.shape
    traj = pd.DataFrame(
        {
            "trial": torch.arange(n).repeat_interleave(t).numpy(),
            "step": torch.arange(t).repeat(n).numpy(),
            "quadrant": labels.repeat_interleave(t).cpu().numpy(),
            "x1": x[:, 0].repeat_interleave(t).cpu().numpy(),
            "x2": x[:, 1].repeat_interleave(t).cpu().numpy() if task.dim > 1 else 0.0,
            **{
                f"pc{c + 1}": pca.projections[..., c].reshape(-1).cpu().numpy()
                for c in range(min(3, pca.projections.shape[-1]))
            },
            # share of the trajectories' variance along each of the first 3 PCs (the same every row)
            **{
                f"pc{c + 1}_variance": float(pca.explained_variance_ratio[c])
                for c in range(min(3, pca.projections.shape[-1]))
            },
        }
    )
    step_map = constant_input_map(model, encoder, task, k)
    starts = fixed_point_starts(states, g, n_starts)
    found = find_fixed_points(step_map, starts, n_iters=n_iters)
    unique = unique_points(found.points, speeds=found.speeds)
    proj = (unique.points.double() - pca.mean.double()) @ pca.components.double().T
    fixed = pd.DataFrame(
        {
            "point": range(len(unique.points)),
            "speed": found.speeds[unique.index].cpu().numpy(),
            "n_merged": torch.bincount(unique.labels).cpu().numpy(),
            **{f"pc{c + 1}": proj[:, c].cpu().numpy() for c in range(min(3, proj.shape[1]))},
        }
    )
    eig = jacobian_spectrum(step_map, unique.points)
    amp = timescale_amplification(eig)
    spectrum = []
    for p in range(eig.shape[0]):
        for r in range(eig.shape[1]):
            spectrum.append(
                {
                    "point": p,
                    "rank": r,
                    "real": float(eig[p, r].real),
                    "imag": float(eig[p, r].imag),
                    "amplification": float(amp[p, r]) if r < amp.shape[1] else float("nan"),
                }
            )
    return traj, fixed, pd.DataFrame(spectrum)


def tuning_table(model, encoder, task: TaskSpec, k: int, n_grid: int = 8) -> pd.DataFrame:
    """Responses (x1, x2, unit, rate) on the stimulus grid with each unit's corr_x1 and corr_x2;
    GPT-2: the last token's attention value vectors."""
    if isinstance(model, GPT2):
        table = gpt_value_vectors(model, encoder, task, k, n_grid)
        table["quantity"] = "attention value"
    else:
        table = tuning_grid(model, encoder, task, k, n_grid)
        table["quantity"] = "rate"
    return table.merge(tuning_correlations(table), on="unit")


def task_example_table(task: TaskSpec, n_tasks: int, seed: int) -> pd.DataFrame:
    """The decision boundaries (unit normals) and one noisy evidence trace (Fig. 2, task panel)."""
    c = boundary_normals(n_tasks, task.dim, task.boundaries, seed)
    rows = [
        {"kind": "boundary", "task": i, "c1": float(c[i, 0]), "c2": float(c[i, 1])}
        for i in range(n_tasks)
    ]
    x, noise = sample_trials(task, generator("example-task", seed), (1,))
    for step in range(task.stimulus_steps):
        obs = x[0] + noise[0, step]
        rows.append(
            {
                "kind": "trace",
                "step": step + 1,
                "x1": float(x[0, 0]),
                "x2": float(x[0, 1]),
                "obs1": float(obs[0]),
                "obs2": float(obs[1]),
            }
        )
    return pd.DataFrame(rows)


def encoder_example_table(
    task: TaskSpec, encoder_params: dict, seed: int, n_trials: int = 100, n_steps: int = 5
) -> pd.DataFrame:
    """Noisy inputs before and after the mixing encoder f (the poster's "after noising" /
    "after mixing"), with f's output reduced to its first 3 principal components."""
    spec = TaskSpec(**{**task.to_dict(), "stimulus_steps": n_steps})
    x, noise = sample_trials(spec, generator("example-encoder", seed), (n_trials,))
    obs = (x[:, None, :] + noise).reshape(-1, task.dim)
    enc = MixingEncoder.from_members([encoder_params], task.encoder)
    feats = enc(obs[None])[0]
    pca = state_pca(feats, 3)
    quadrant = orthant_labels(x).repeat_interleave(n_steps)
    return pd.DataFrame(
        {
            "trial": torch.arange(n_trials).repeat_interleave(n_steps).numpy(),
            "quadrant": quadrant.numpy(),
            "obs1": obs[:, 0].numpy(),
            "obs2": obs[:, 1].numpy(),
            **{f"pc{c + 1}": pca.projections[:, c].numpy() for c in range(3)},
            "explained_variance_3pc": float(pca.explained_variance_ratio.sum()),
        }
    )
