"""Loss terms of the VAE family, as google-research/disentanglement_lib (dlib) defines them.

Reference: google-research/disentanglement_lib (dlib), ``methods/unsupervised/vae.py`` and
``losses.py``; Chen et al. 2018 (β-TCVAE, minibatch weighted
sampling), Kim & Mnih 2018 (FactorVAE), Burgess et al. 2018 (AnnealedVAE).

Conventions (dlib's): every term is summed over pixels / latents and averaged over the batch;
the Bernoulli reconstruction works on logits; KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ(μ² + σ² − log σ² − 1).
The functions are pure: tensors in, tensors out; any randomness comes from an explicit
``torch.Generator``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)


def bernoulli_reconstruction(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """−log p(x | z) of a Bernoulli decoder: sigmoid cross-entropy on logits, summed over all
    non-batch axes, mean over the batch (dlib's ``bernoulli_loss`` with ``activation="logits"``)."""
    if logits.shape != x.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and x {tuple(x.shape)}: expected one shape")
    per = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return per.flatten(1).sum(dim=1).mean()


def gaussian_reconstruction(mean: torch.Tensor, x: torch.Tensor, variance: float) -> torch.Tensor:
    """−log N(x; mean, variance·I) summed over features, mean over the batch (vector data).

    The decoder variance is fixed; the ½·log(2π·variance) constant is kept so the value is a
    true negative log-likelihood (it does not change the gradient).
    """
    if mean.shape != x.shape:
        raise ValueError(f"mean {tuple(mean.shape)} and x {tuple(x.shape)}: expected one shape")
    if not variance > 0:
        raise ValueError(f"variance = {variance}: expected a positive decoder variance")
    per = 0.5 * ((x - mean) ** 2 / variance + LOG_2PI + math.log(variance))
    return per.flatten(1).sum(dim=1).mean()


def kl_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) ‖ N(0, I)) per example: ``(n, d) → (n,)``, in nats."""
    return 0.5 * (mean**2 + logvar.exp() - logvar - 1.0).sum(dim=1)


def kl_normal(
    mean: torch.Tensor,
    logvar: torch.Tensor,
    prior_mean: torch.Tensor,
    prior_logvar: torch.Tensor,
) -> torch.Tensor:
    """KL(N(mean, e^logvar) ‖ N(prior_mean, e^prior_logvar)), diagonal, per example: ``(n,)``.

    Used by the iVAE, whose prior p(z | u) changes from example to example.
    """
    ratio = (logvar - prior_logvar).exp()
    return 0.5 * (
        ratio + (mean - prior_mean) ** 2 / prior_logvar.exp() - 1.0 - logvar + prior_logvar
    ).sum(dim=1)


def reparameterize(
    mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """z = mean + exp(logvar / 2)·ε with ε ~ N(0, I) drawn on the CPU from ``generator``."""
    eps = torch.randn(mean.shape, generator=generator).to(mean.device)
    return mean + (0.5 * logvar).exp() * eps


def gaussian_log_density(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise log N(z; mean, exp(logvar)) (broadcasting)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean) ** 2 * (-logvar).exp())


def total_correlation(
    z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, normalise: bool = False
) -> torch.Tensor:
    """Minibatch-weighted-sampling estimate of TC(q(z)) = KL(q(z) ‖ Π_l q(z_l)) (Chen et al. 2018).

    log q(z_j) ≈ logsumexp_i log q(z_j | x_i) and log Π_l q(z_jl) ≈ Σ_l logsumexp_i
    log q(z_jl | x_i), averaged over the batch j. ``normalise=False`` is dlib's value, which drops
    the log-count constants (they cancel in the gradient); it is (D − 1)·log M below the estimate
    that treats the minibatch of M codes as the whole population (``normalise=True``, where each
    logsumexp becomes a log-mean). Only the normalised value is ≈ 0 for a factorised batch.
    """
    if z.ndim != 2 or z.shape != mean.shape or z.shape != logvar.shape:
        raise ValueError(
            f"z {tuple(z.shape)}, mean {tuple(mean.shape)}, logvar {tuple(logvar.shape)}: "
            "expected three (batch, latents) tensors of one shape"
        )
    # log q(z_j,l | x_i): (j, i, l)
    log_q = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])
    log_qz = torch.logsumexp(log_q.sum(dim=2), dim=1)
    log_qz_product = torch.logsumexp(log_q, dim=1).sum(dim=1)
    tc = (log_qz - log_qz_product).mean()
    if normalise:
        m, d = z.shape
        tc = tc + (d - 1) * math.log(m)
    return tc


def annealed_capacity(step: int, c_max: float, iteration_threshold: int) -> float:
    """AnnealedVAE's target KL: C = min(c_max, c_max·step / iteration_threshold) (dlib)."""
    if iteration_threshold <= 0:
        raise ValueError(f"iteration_threshold = {iteration_threshold}: expected a positive int")
    if step < 0:
        raise ValueError(f"step = {step}: expected a non-negative training step")
    return min(float(c_max), float(c_max) * step / iteration_threshold)


def permute_dims(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shuffle every latent independently across the batch (FactorVAE's q̄(z) sample, dlib's
    ``shuffle_codes``): each column keeps its values (its marginal), the dependence is broken."""
    if z.ndim != 2:
        raise ValueError(f"z {tuple(z.shape)}: expected a (batch, latents) tensor")
    n, d = z.shape
    perms = torch.argsort(torch.rand((n, d), generator=generator), dim=0).to(z.device)
    return torch.gather(z, 0, perms)
