"""The multi-task evidence-accumulation classification task of the paper (section 3, Fig. 2).

``spec`` holds the task's settings (``TaskSpec``) without torch; ``evidence`` the trials, labels
and targets; ``encoder`` the mixing encoder f. The names below are imported on first use, so that
``disentangle.tasks.spec`` (read by the config check) can be imported without torch.
"""

from __future__ import annotations

_ENCODER = ("MixingEncoder", "init_encoder_member")
_EVIDENCE = (
    "boundary_normals",
    "build_inputs",
    "ddm_targets",
    "evaluation_set",
    "fold_masks",
    "labels",
    "sample_trials",
    "targets",
    "trial_targets",
)

__all__ = sorted([*_ENCODER, "TaskSpec", *_EVIDENCE])


def __getattr__(name: str):
    if name in _ENCODER:
        from disentangle.tasks import encoder as module
    elif name in _EVIDENCE:
        from disentangle.tasks import evidence as module
    elif name == "TaskSpec":
        from disentangle.tasks import spec as module
    else:
        raise AttributeError(f"module 'disentangle.tasks' has no attribute {name!r}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
