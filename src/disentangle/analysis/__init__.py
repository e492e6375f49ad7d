"""Analyses of trained networks (docs/replication.md, "Decoder-axis angles" and "Sparsity,
dynamics and tuning"): ``dynamics`` (PCA, fixed points, Jacobian spectra, time-scale
amplification), ``tuning`` (grid rasters, correlation maps, GPT-2 value vectors), ``sparsity``
(Vinje–Gallant lifetime sparseness) and ``geometry`` (angles between decoder axes). Each function
analyses one ensemble member (index ``k``); callers loop. ``table_builders`` turns them into the
workflow's tidy tables."""

from disentangle.analysis.dynamics import (
    FixedPoints,
    PCAResult,
    UniquePoints,
    constant_input_map,
    find_fixed_points,
    fixed_point_starts,
    held_input,
    jacobian_spectrum,
    member_encoder,
    member_network,
    noise_free_trajectories,
    orthant_labels,
    state_pca,
    timescale_amplification,
    unique_points,
)
from disentangle.analysis.geometry import angle_vs_penalty, axis_angles, axis_pairs
from disentangle.analysis.sparsity import (
    active_fraction,
    lifetime_sparseness,
    network_sparsity,
    signed_rates,
)
from disentangle.analysis.tuning import (
    gpt_value_vectors,
    grid_latents,
    tuning_correlations,
    tuning_grid,
)

__all__ = [
    "FixedPoints",
    "PCAResult",
    "UniquePoints",
    "active_fraction",
    "angle_vs_penalty",
    "axis_angles",
    "axis_pairs",
    "constant_input_map",
    "find_fixed_points",
    "fixed_point_starts",
    "gpt_value_vectors",
    "grid_latents",
    "held_input",
    "jacobian_spectrum",
    "lifetime_sparseness",
    "member_encoder",
    "member_network",
    "network_sparsity",
    "noise_free_trajectories",
    "orthant_labels",
    "signed_rates",
    "state_pca",
    "timescale_amplification",
    "tuning_correlations",
    "tuning_grid",
    "unique_points",
]
