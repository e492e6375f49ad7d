"""Identifiability studies with small trained generative models (the theory panels' empirical half).

- ``ivae_table``: Khemakhem et al. (2020): with an auxiliary variable u that changes the sources'
  distributions, an iVAE recovers the sources up to permutation and pointwise maps (high MCC);
  a VAE with the same networks and a fixed N(0, I) prior does not. The iVAE synthetic data set
  (5 Gaussian sources whose per-segment std depends on u, 40 segments) with linear mixing (the
  quickest robust case; with 2-3 xtanh layers and the plain ELBO the gap is not robust within a
  CPU budget, see the generative module's notes), several seeds; MCC of posterior means.
- ``locatello_vae_table``: Locatello et al. (2019) on a trained VAE: rotating its latent space
  (decoder ∘ Rᵀ, posterior pushed through R) leaves the marginal likelihood log p(x) unchanged —
  estimated by importance sampling with independent draws per model — for a random rotation and
  for the rotation that best aligns the code with the true sources, whose MCC is higher: the
  likelihood cannot tell the better-aligned code from the other.

Both return tidy tables (setting columns + ``metric`` + ``value``) and are registered as checks
in ``disentangle.theory_checks``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from disentangle.generative.sources import ArraySource
from disentangle.generative.synthetic import make_ivae_dataset
from disentangle.generative.train import load_generative, represent, train_generative
from disentangle.metrics.mcc import mcc
from disentangle.seeding import generator

N_SEEDS = 3
SHARED = {"n_latent": 5, "lr": 1e-3, "decoder_variance": 0.01}


def _train(method: str, seed: int, data, n_steps: int):
    """Train one model on the synthetic data (in a scratch folder) and return it, in eval mode.

    On the CPU, one thread, whatever GPU the machine has: these models are tiny (5 latents, a few
    hundred steps) and the theory panels' tables should not depend on the machine."""
    spec = {"method": method, "seed": seed, **SHARED}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "model.pt"
        train_generative(
            spec,
            ArraySource(data.x, data.u),
            str(out),
            str(out) + ".ckpt",
            n_steps,
            device="cpu",
            log=lambda _m: None,
            threads=1,
        )
        model, _ = load_generative(str(out))
    return model


def ivae_table(seed: int, size: int, n_seeds: int = N_SEEDS) -> pd.DataFrame:
    """MCC of iVAE, VAE (same networks, N(0, I) prior) and the raw observations against the
    true sources, for ``n_seeds`` data sets and models; ``size`` = training steps per model."""
    rows = []
    for s in range(seed, seed + n_seeds):
        data = make_ivae_dataset(s, n_layers=1)
        rows.append(
            {
                "seed": s,
                "model": "raw observations",
                "metric": "mcc",
                "value": mcc(data.x, data.s)["mcc"],
            }
        )
        for method in ("ivae", "vae"):
            model = _train(method, s, data, size)
            codes = represent(model, data.x, data.u)
            rows.append(
                {"seed": s, "model": method, "metric": "mcc", "value": mcc(codes, data.s)["mcc"]}
            )
    table = pd.DataFrame(rows)
    table.insert(0, "train_steps", size)
    table.insert(0, "mixing_layers", 1)
    return table


def _random_rotation(dim: int, g: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn((dim, dim), generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))[None, :]


@torch.no_grad()
def importance_log_likelihood(
    model, x: torch.Tensor, rotation: torch.Tensor, n_samples: int, g: torch.Generator
) -> torch.Tensor:
    """log p(x) per observation by importance sampling, for the model whose latent space is
    rotated by R: decoder'(z) = decoder(Rᵀz), proposal N(Rμ, R Σ Rᵀ) from the encoder's q(z|x),
    prior N(0, I) (rotation invariant). R = I gives the original model."""
    mean, logvar = model.encode(x)
    mean, logvar = mean.double(), logvar.double()
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((n_samples, *mean.shape), generator=g, dtype=torch.float64)
    z = mean + std * eps  # a draw from q(z|x) in the original coordinates
    z_rot = z @ rotation.T  # the same draw pushed through R: a draw from q'(z'|x)
    log_q = (-0.5 * eps**2 - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)  # |det R| = 1
    log_prior = (-0.5 * z_rot**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
    decoded = model.decoder((z_rot @ rotation).float().reshape(-1, mean.shape[-1])).double()
    decoded = decoded.reshape(n_samples, *x.shape)
    var = model.decoder_variance
    log_lik = (-0.5 * (x.double() - decoded) ** 2 / var - 0.5 * math.log(2 * math.pi * var)).sum(-1)
    weights = log_lik + log_prior - log_q
    return torch.logsumexp(weights, dim=0) - math.log(n_samples)


def _procrustes_rotation(codes: np.ndarray, sources: np.ndarray) -> torch.Tensor:
    """The orthogonal R that best maps standardised codes onto standardised sources (R·z ≈ s)."""
    zc = (codes - codes.mean(0)) / codes.std(0)
    sc = (sources - sources.mean(0)) / sources.std(0)
    u, _, vt = np.linalg.svd(sc.T @ zc)
    return torch.as_tensor(u @ vt, dtype=torch.float64)


def locatello_vae_table(seed: int, size: int, n_points: int = 500, n_samples: int = 256):
    """A trained VAE, a randomly rotated twin and the twin rotated to align best with the true
    sources: the same marginal likelihood (importance sampling, independent draws per model), but
    different alignment with the sources (MCC). ``size`` = training steps."""
    data = make_ivae_dataset(seed, n_layers=1)
    model = _train("vae", seed, data, size)
    g = generator("locatello-vae", seed)
    codes = represent(model, data.x)
    rotations = {
        "original": torch.eye(model.n_latent, dtype=torch.float64),
        "random rotation": _random_rotation(model.n_latent, g),
        "aligned rotation": _procrustes_rotation(codes, data.s),
    }
    pick = torch.randperm(len(data.x), generator=g)[:n_points]
    x = torch.as_tensor(data.x[pick.numpy()])
    rows, base = [], None
    for name, rotation in rotations.items():
        ll = importance_log_likelihood(model, x, rotation, n_samples, g)  # independent draws
        base = ll if base is None else base
        diff = (ll - base).numpy()
        rows += [
            (name, "log_px_mean", float(ll.mean())),
            (name, "log_px_diff_vs_original", float(diff.mean())),
            (
                name,
                "log_px_diff_standard_error",
                float(diff.std(ddof=1) / np.sqrt(len(diff))) if name != "original" else 0.0,
            ),
            (name, "mcc", mcc(codes @ rotation.numpy().T, data.s)["mcc"]),
        ]
    table = pd.DataFrame(rows, columns=["model", "metric", "value"])
    table.insert(0, "importance_samples", n_samples)
    table.insert(0, "train_steps", size)
    table.insert(0, "seed", seed)
    return table
