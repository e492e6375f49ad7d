"""What the analyses of a trained network read: the ensemble and its experiment's ingredients."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    #: where the analysis runs: ``device``, ``device_name``, ``determinism`` (every table's
    #: columns; ``provenance.device_columns``)
    device_columns: dict = field(default_factory=dict)


def job_device(device: str = "auto", threads: int | None = None):
    """The device of a job that runs a model, resolved and checked (``training.resolve_device``:
    one line and exit status 1 if it cannot be used), with the trainers' deterministic settings
    (``provenance.configure_determinism``), after setting torch's thread count when ``threads``
    is given. Returns the ``torch.device`` and the columns its tables record
    (``provenance.device_columns``)."""
    import torch

    from disentangle.provenance import configure_determinism, device_columns
    from disentangle.training import resolve_device

    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    configure_determinism(dev)
    return dev, device_columns(dev)


def load_trained_ensemble(
    model: str, ingredients: str, device: str = "auto", threads: int | None = None
) -> TrainedEnsemble:
    """Set torch's thread count (when ``threads`` is given), resolve and configure ``device``
    (``job_device``), load the trained ensemble at ``model`` onto it and the experiment's
    ingredients at ``ingredients``."""
    from disentangle.data.ingredients import load_ingredients
    from disentangle.training import load_trained

    dev, columns = job_device(device, threads)
    exp, network, _, encoder, obj = load_trained(model, dev)
    return TrainedEnsemble(
        spec=exp,
        model=network,
        encoder=encoder,
        members=[tuple(m) for m in obj["members"]],
        ingredients=load_ingredients(ingredients),
        device_columns=columns,
    )
