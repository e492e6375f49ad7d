"""What the analyses of a trained network read: the ensemble and its experiment's ingredients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from disentangle.experiment import ExperimentSpec


@dataclass(frozen=True)
class TrainedEnsemble:
    """A trained ensemble, ready for analysis."""

    spec: ExperimentSpec  # the experiment it was trained for
    model: Any  # the ensemble's networks (eval mode, on the chosen device)
    encoder: Any  # the members' frozen mixing encoders f
    members: list[tuple[int, int]]  # (n_tasks, seed) of each network, in ensemble order
    ingredients: dict  # the experiment's ingredients (boundaries, evaluation trials, ...)


def load_trained_ensemble(
    model: str, ingredients: str, device: str = "auto", threads: int | None = None
) -> TrainedEnsemble:
    """Set torch's thread count (when ``threads`` is given), load the trained ensemble at ``model``
    on ``device`` and the experiment's ingredients at ``ingredients``."""
    import torch

    from disentangle.data.ingredients import load_ingredients
    from disentangle.training import load_trained, resolve_device

    if threads:
        torch.set_num_threads(threads)
    exp, network, _, encoder, obj = load_trained(model, resolve_device(device))
    return TrainedEnsemble(
        spec=exp,
        model=network,
        encoder=encoder,
        members=[tuple(m) for m in obj["members"]],
        ingredients=load_ingredients(ingredients),
    )
