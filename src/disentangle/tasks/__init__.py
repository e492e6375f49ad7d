"""The multi-task evidence-accumulation classification task of the paper (section 3, Fig. 2)."""

from disentangle.tasks.encoder import MixingEncoder, init_encoder_member
from disentangle.tasks.evidence import (
    TaskSpec,
    boundary_normals,
    build_inputs,
    ddm_targets,
    evaluation_set,
    fold_masks,
    labels,
    sample_trials,
    targets,
    trial_targets,
)

__all__ = [
    "MixingEncoder",
    "TaskSpec",
    "boundary_normals",
    "build_inputs",
    "ddm_targets",
    "evaluation_set",
    "fold_masks",
    "init_encoder_member",
    "labels",
    "sample_trials",
    "targets",
    "trial_targets",
]
