"""What every generative model offers the training loop and the metrics.

A model owns one or more parameter groups, each trained by its own Adam optimiser on its own loss
(VAEs: one group ``vae``; FactorVAE adds ``discriminator``; InfoGAN has ``generator`` and
``discriminator``). ``losses`` runs one forward pass on a minibatch and returns the loss of every
group plus floats to log; the loop differentiates each group's loss with respect to that group's
parameters only and steps every optimiser (simultaneous updates, as dlib's ``tf.group`` of the
VAE and discriminator train ops). ``represent`` gives the codes the metrics score.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from disentangle.generative.networks import is_image_shape


class GenerativeModel(nn.Module):
    """Base class: observation shape, auxiliary size, and the interface the loop relies on."""

    def __init__(self, observation_shape: Sequence[int], n_aux: int = 0):
        super().__init__()
        is_image_shape(observation_shape)  # validates
        if int(n_aux) < 0:
            raise ValueError(f"n_aux = {n_aux}: expected a non-negative integer")
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.n_aux = int(n_aux)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters of each optimiser, by group name."""
        raise NotImplementedError

    def optimizer_settings(self) -> dict[str, dict]:
        """Adam keyword arguments (lr, betas, eps) of each group."""
        raise NotImplementedError

    def losses(
        self, x: torch.Tensor, u: torch.Tensor | None, step: int, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """One forward pass: the loss of each parameter group and the numbers to log."""
        raise NotImplementedError

    def represent(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """Deterministic codes of observations (posterior means, or InfoGAN's Q estimate)."""
        raise NotImplementedError


def adam_settings(lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> dict:
    """Validated Adam keyword arguments (dlib's VAE optimiser by default, lr aside)."""
    if not lr > 0:
        raise ValueError(f"lr = {lr}: expected a positive learning rate")
    b1, b2 = (float(b) for b in betas)
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"betas = {betas}: expected two numbers in [0, 1)")
    return {"lr": float(lr), "betas": (b1, b2), "eps": float(eps)}


def scalar(t: torch.Tensor) -> float:
    """A 0-d tensor as a Python float for the logs (detached first)."""
    return float(t.detach())
