"""The VAE family of google-research/disentanglement_lib (``methods/unsupervised/vae.py``).

Every model's loss is reconstruction + regularizer, with the reconstruction summed over pixels and
averaged over the batch, and the logged ``elbo`` = −(reconstruction + KL):

- ``VAE``: KL(q(z|x) ‖ N(0, I)) (Kingma & Welling 2014).
- ``BetaVAE``: β·KL (Higgins et al. 2017). dlib sweep β ∈ {1, 2, 4, 6, 8, 16}; default 4.
- ``AnnealedVAE``: γ·|KL − C|, C = min(c_max, c_max·step/iteration_threshold) (Burgess et al.
  2018); γ = 1000, iteration_threshold = 100000, sweep c_max ∈ {5, 10, 25, 50, 75, 100}, default 25.
  ``step`` is the number of updates made before this one (dlib's global step).
- ``BetaTCVAE``: KL + (β − 1)·TC, TC from minibatch weighted sampling (Chen et al. 2018). We keep
  dlib's value with the log-count constants dropped: the gradient is the same and the logged TC is
  comparable to dlib's; ``losses.total_correlation(normalise=True)`` adds them back. Sweep
  β ∈ {1, 2, 4, 6, 8, 10}; default 6.
- ``FactorVAE``: KL + γ·TC with TC = mean(logit_real − logit_perm) of a discriminator on the
  sampled z (Kim & Mnih 2018). The discriminator (6 dense layers of 1000 leaky-ReLU units, 2 logits,
  probabilities clipped to [1e-6, 1 − 1e-6]) maximises 0.5·E log p_real(z) + 0.5·E log p_perm(z̃),
  where z̃ shuffles each latent across the same minibatch (dlib; the paper used a second batch). It
  has its own Adam (lr 1e-4, β1 0.5, β2 0.9); the VAE's Adam updates encoder and decoder only.
  Sweep γ ∈ {10, 20, 30, 40, 50, 100}; default 10. dlib advances its global step twice per
  iteration; here one iteration is one step.

Shared defaults (dlib ``shared.gin``): 10 latents, Adam lr 1e-4 (β 0.9, 0.999, eps 1e-8), batch 64,
Bernoulli likelihood on logits for images. Vector data get MLPs and a Gaussian likelihood with a
fixed variance (``decoder_variance``, default 0.1 as in the iVAE reference runner).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from disentangle.generative.base import GenerativeModel, adam_settings, scalar
from disentangle.generative.losses import (
    annealed_capacity,
    bernoulli_reconstruction,
    gaussian_reconstruction,
    kl_standard_normal,
    permute_dims,
    reparameterize,
    total_correlation,
)
from disentangle.generative.networks import (
    DEFAULT_HIDDEN,
    MLP,
    GaussianEncoder,
    glorot_init_,
    is_image_shape,
    make_decoder,
)

LIKELIHOODS = ("bernoulli", "gaussian")
DISCRIMINATOR_HIDDEN = (1000,) * 6
PROBABILITY_CLIP = 1e-6


class VAE(GenerativeModel):
    """Gaussian encoder, decoder, N(0, I) prior; the loss is reconstruction + ``regularizer``."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        *,
        generator: torch.Generator,
        n_latent: int = 10,
        lr: float = 1e-4,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        likelihood: str | None = None,
        decoder_variance: float = 0.1,
        n_aux: int = 0,
    ):
        super().__init__(observation_shape, n_aux)
        image = is_image_shape(observation_shape)
        likelihood = likelihood or ("bernoulli" if image else "gaussian")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood = {likelihood!r}: expected one of {LIKELIHOODS}")
        if not decoder_variance > 0:
            raise ValueError(f"decoder_variance = {decoder_variance}: expected a positive number")
        if not hidden:
            raise ValueError("hidden: expected at least one hidden layer width")
        self.n_latent = int(n_latent)
        self.likelihood = likelihood
        self.decoder_variance = float(decoder_variance)
        self.adam = adam_settings(lr)
        self.encoder = GaussianEncoder(observation_shape, n_latent, self._encoder_aux(), hidden)
        self.decoder = make_decoder(n_latent, observation_shape, hidden)
        glorot_init_(self.encoder, generator)
        glorot_init_(self.decoder, generator)

    def _encoder_aux(self) -> int:
        """Width of the auxiliary input the encoder sees (0: q(z | x))."""
        return 0

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"vae": [*self.encoder.parameters(), *self.decoder.parameters()]}

    def optimizer_settings(self) -> dict[str, dict]:
        return {"vae": dict(self.adam)}

    def encode(
        self, x: torch.Tensor, u: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (n, n_latent)."""
        return self.encoder(x)

    def reconstruction(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """−log p(x | z), summed over features, mean over the batch."""
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return bernoulli_reconstruction(out, x)
        return gaussian_reconstruction(out, x, self.decoder_variance)

    def kl(self, mean: torch.Tensor, logvar: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        """Mean over the batch of KL(q(z | x) ‖ p(z))."""
        return kl_standard_normal(mean, logvar).mean()

    def regularizer(
        self,
        kl: torch.Tensor,
        z: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        step: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The method's regularizer and extra numbers to log (the plain VAE: the KL)."""
        return kl, {}

    def losses(
        self, x: torch.Tensor, u: torch.Tensor | None, step: int, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        mean, logvar = self.encode(x, u)
        z = reparameterize(mean, logvar, generator)
        recon = self.reconstruction(x, z)
        kl = self.kl(mean, logvar, u)
        reg, extra = self.regularizer(kl, z, mean, logvar, step, generator)
        loss = recon + reg
        logs = {
            "loss": scalar(loss),
            "reconstruction": scalar(recon),
            "kl": scalar(kl),
            "elbo": -scalar(recon + kl),
            **extra,
        }
        return {"vae": loss}, logs

    @torch.no_grad()
    def represent(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.encode(x, u)[0]


class BetaVAE(VAE):
    """β-VAE: reconstruction + β·KL."""

    def __init__(self, observation_shape: Sequence[int], *, beta: float = 4.0, **kwargs):
        if not beta >= 0:
            raise ValueError(f"beta = {beta}: expected a non-negative weight")
        super().__init__(observation_shape, **kwargs)
        self.beta = float(beta)

    def regularizer(
        self,
        kl: torch.Tensor,
        z: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        step: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        return self.beta * kl, {}


class AnnealedVAE(VAE):
    """AnnealedVAE: reconstruction + γ·|KL − C(step)| with a linearly growing capacity C."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        *,
        gamma: float = 1000.0,
        c_max: float = 25.0,
        iteration_threshold: int = 100000,
        **kwargs,
    ):
        if not gamma >= 0 or not c_max >= 0:
            raise ValueError(f"gamma = {gamma}, c_max = {c_max}: expected non-negative numbers")
        if int(iteration_threshold) < 1:
            raise ValueError(f"iteration_threshold = {iteration_threshold}: expected >= 1")
        super().__init__(observation_shape, **kwargs)
        self.gamma = float(gamma)
        self.c_max = float(c_max)
        self.iteration_threshold = int(iteration_threshold)

    def regularizer(
        self,
        kl: torch.Tensor,
        z: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        step: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = annealed_capacity(step, self.c_max, self.iteration_threshold)
        return self.gamma * (kl - c).abs(), {"capacity": c}


class BetaTCVAE(VAE):
    """β-TCVAE: reconstruction + KL + (β − 1)·TC (dlib's TC, log-count constants dropped)."""

    def __init__(self, observation_shape: Sequence[int], *, beta: float = 6.0, **kwargs):
        if not beta >= 0:
            raise ValueError(f"beta = {beta}: expected a non-negative weight")
        super().__init__(observation_shape, **kwargs)
        self.beta = float(beta)

    def regularizer(
        self,
        kl: torch.Tensor,
        z: torch.Tensor,
        mean: torch.Tensor,
        logvar: torch.Tensor,
        step: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        tc = total_correlation(z, mean, logvar)
        return kl + (self.beta - 1.0) * tc, {"tc": scalar(tc)}


class Discriminator(nn.Module):
    """FactorVAE's discriminator: dense leaky-ReLU layers → 2 logits (real, permuted)."""

    def __init__(self, n_latent: int, hidden: Sequence[int] = DISCRIMINATOR_HIDDEN):
        super().__init__()
        self.net = MLP(n_latent, 2, hidden, activation="leaky_relu")

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (n, 2) and clipped softmax probabilities (n, 2)."""
        logits = self.net(z)
        probs = F.softmax(logits, dim=1).clamp(PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
        return logits, probs


class FactorVAE(VAE):
    """FactorVAE: reconstruction + KL + γ·TC, TC from a discriminator with its own optimiser."""

    def __init__(
        self,
        observation_shape: Sequence[int],
        *,
        generator: torch.Generator,
        gamma: float = 10.0,
        discriminator_hidden: Sequence[int] = DISCRIMINATOR_HIDDEN,
        discriminator_lr: float = 1e-4,
        discriminator_betas: tuple[float, float] = (0.5, 0.9),
        **kwargs,
    ):
        if not gamma >= 0:
            raise ValueError(f"gamma = {gamma}: expected a non-negative weight")
        super().__init__(observation_shape, generator=generator, **kwargs)
        self.gamma = float(gamma)
        self.discriminator = Discriminator(self.n_latent, discriminator_hidden)
        glorot_init_(self.discriminator, generator)
        self.discriminator_adam = adam_settings(discriminator_lr, discriminator_betas)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = super().parameter_groups()
        groups["discriminator"] = list(self.discriminator.parameters())
        return groups

    def optimizer_settings(self) -> dict[str, dict]:
        settings = super().optimizer_settings()
        settings["discriminator"] = dict(self.discriminator_adam)
        return settings

    def losses(
        self, x: torch.Tensor, u: torch.Tensor | None, step: int, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        mean, logvar = self.encode(x, u)
        z = reparameterize(mean, logvar, generator)
        recon = self.reconstruction(x, z)
        kl = self.kl(mean, logvar, u)
        logits_real, probs_real = self.discriminator(z)
        tc = (logits_real[:, 0] - logits_real[:, 1]).mean()
        loss = recon + kl + self.gamma * tc
        _, probs_perm = self.discriminator(permute_dims(z.detach(), generator))
        # the discriminator ascends 0.5·E log p_real(z) + 0.5·E log p_perm(z̃)
        objective = 0.5 * probs_real[:, 0].log().mean() + 0.5 * probs_perm[:, 1].log().mean()
        logs = {
            "loss": scalar(loss),
            "reconstruction": scalar(recon),
            "kl": scalar(kl),
            "elbo": -scalar(recon + kl),
            "tc": scalar(tc),
            "discriminator_loss": -scalar(objective),
        }
        return {"vae": loss, "discriminator": -objective}, logs
