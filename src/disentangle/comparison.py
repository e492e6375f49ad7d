"""Multi-task networks beside the β-VAE family: the same data, scored with the same metrics.

Two data sets, both generated here (nothing downloaded):
- ``dsprites``: the procedural dSprites (``disentangle.data.dsprites``); factors are the grid
  indices (shape, scale, orientation, x, y); codes of the generative models are their posterior
  means (InfoGAN: Q's estimate).
- ``task``: the multi-task task's own observations, the noise-free encoder output f(x*) (40-d, the
  frozen mixing MLP of the experiment's first network) with x* ~ U(−½, ½)^D as ground-truth
  factors. The generative models are trained on f(x*); the multi-task networks are scored on their
  final hidden state after a noisy trial of the same x* distribution (their input is the noisy
  evidence stream, as in every other panel); the raw observations f(x*) are the baseline.

Scores (one row per (model, metric)): dlib's MIG, DCI (disentanglement, completeness,
informativeness), SAP, modularity and explicitness, IRS and MCC (``disentangle.metrics.score``),
with continuous factors discretised into ``n_bins`` equal-width bins for the discrete metrics
(MCC uses the continuous values); for dSprites also the BetaVAE and FactorVAE scores; for the task
data the paper's OOD r² (ridge decoder, quadrant hold-out, ``disentangle.metrics.ood``).

Equal code size. The networks' codes are their H-unit states (H = 64), the VAEs' codes have D
latents, and several of these metrics reward a large code by itself: a random, fully entangled
linear code z = x* A of H units scores DCI disentanglement and MCC ≈ 1 (with many random
directions, some unit is nearly aligned with each latent). So beside each network's full state
the networks are also scored on the state's top-D principal components (``top_pcs``, family
``PCS_FAMILY``), and the floors are scored on the same sample: random linear codes x* A with A a
D × m standard Gaussian matrix from the named stream ("random-linear-code", D, m, draw), no noise
(``random_code_matrix``, family ``FLOOR_FAMILY``), one per code size m compared (D, H and the raw
observations' size) and draw. A score at or below the floor of its code size does not separate a
disentangled code from an entangled one of that size. The floors use the networks' scoring sample
of x* (its test sample for the OOD rows); the setting ``floor_draws`` (default ``FLOOR_DRAWS``)
sets the draws per size. Most of their cost is DCI's gradient-boosted trees on the 40- and 64-unit
codes (explicitness fits those rank-D codes on their D-dimensional span:
``metrics.modularity.span_coordinates``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from disentangle.metrics import score
from disentangle.metrics.beta_vae import beta_vae_score
from disentangle.metrics.decoders import OODSettings, RidgeSettings
from disentangle.metrics.factor_vae import factor_vae_score
from disentangle.metrics.ood import ood_rows
from disentangle.seeding import derive_seed, generator
from disentangle.tasks.encoder import MixingEncoder

SAMPLE_METRICS = ("mig", "dci", "sap", "modularity_explicitness", "irs", "mcc")
PCS_FAMILY = "multi-task (top-D PCs)"
FLOOR_FAMILY = "random linear code"
FLOOR_DRAWS = 3  # random codes per code size: the floor's spread


def task_observations(
    encoder_params: dict, dim: int, n: int, seed: int, activation: str = "relu"
) -> tuple[np.ndarray, np.ndarray]:
    """f(x*) (n, 40) float32 and x* (n, D), x* ~ U(−½, ½)^D from the stream ("task-data", seed)."""
    g = generator("task-data", seed, dim)
    x = torch.rand((n, dim), generator=g) - 0.5
    enc = MixingEncoder.from_members([encoder_params], activation)
    return enc(x[None])[0].numpy().astype(np.float32), x.numpy().astype(np.float64)


def standardise(obs: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``obs`` with each unit z-scored by the ``reference`` sample's mean and sd (float32); a unit
    constant in the reference (a ReLU that never fires) is centred only.

    Why: f(x*) varies little (E‖f − E f‖² ≈ 0.04 summed over the 40 units for the task's default
    encoder), far below the fixed decoder variance of a Gaussian VAE (0.1 per unit), so a VAE on
    the raw observations gains less from any latent than that latent's KL costs and collapses
    (every latent inactive). Standardised, each unit has variance 1."""
    mean = reference.mean(axis=0, dtype=np.float64)
    sd = reference.std(axis=0, dtype=np.float64)
    return ((obs - mean) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def discretise(x: np.ndarray, n_bins: int, low: float = -0.5, high: float = 0.5) -> np.ndarray:
    """Equal-width bin labels 0..n_bins−1 of continuous factors on [low, high]."""
    edges = np.linspace(low, high, n_bins + 1)[1:-1]
    return np.stack([np.digitize(x[:, j], edges) for j in range(x.shape[1])], axis=1)


def sample_metric_rows(
    codes: np.ndarray, labels: np.ndarray, continuous: np.ndarray, seed: int, dci_estimators: int
) -> list[dict]:
    """The sample-based metrics on one representation, as (metric, value) rows."""
    rows = []
    for name in SAMPLE_METRICS:
        if name == "mcc":
            result = score("mcc", codes, continuous, seed=seed, correlation="spearman")
        elif name == "dci":
            result = score("dci", codes, labels, seed=seed, n_estimators=dci_estimators)
        else:
            result = score(name, codes, labels, seed=seed)
        rows += [{"metric": f"{name}.{key}", "value": float(v)} for key, v in result.items()]
    return rows


def task_ood_rows(
    codes_train, x_train, codes_test, x_test, penalty: float | RidgeSettings
) -> list[dict]:
    """The paper's OOD and ID r² of one representation, closed-form ridge decoder (one fit per
    fold, relative ``penalty``: ``comparison.ood_penalty``), mean over folds (quadrants for
    D = 2)."""
    ridge = penalty if isinstance(penalty, RidgeSettings) else RidgeSettings(float(penalty))
    settings = OODSettings(decoder="ridge", n_fits=1, ridge=ridge)
    raw = ood_rows(
        torch.as_tensor(codes_train, dtype=torch.float32)[None],
        torch.as_tensor(x_train, dtype=torch.float32),
        torch.as_tensor(codes_test, dtype=torch.float32)[None],
        torch.as_tensor(x_test, dtype=torch.float32),
        [(0, 0)],
        settings,
    )
    out = {}
    for r in raw:
        out.setdefault(r["metric"], []).append(r["value"])
    return [{"metric": m, "value": float(np.mean(v))} for m, v in out.items()]


def top_pcs(codes: np.ndarray, codes_test: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` principal components of ``codes`` (n, H) and ``codes_test`` on the same axes.

    PCA is fitted on ``codes`` alone (centred by its mean; SVD); ``codes_test`` is centred by the
    same mean and projected on the same axes. Each axis' sign makes its largest-magnitude loading
    positive, so the result does not depend on the LAPACK build. Float64, (n, min(k, H)).
    """
    codes = np.asarray(codes, dtype=np.float64)
    mean = codes.mean(axis=0)
    _, _, vt = np.linalg.svd(codes - mean, full_matrices=False)
    axes = vt[: min(k, vt.shape[0])].T
    axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    return (codes - mean) @ axes, (np.asarray(codes_test, dtype=np.float64) - mean) @ axes


def random_code_matrix(dim: int, size: int, draw: int) -> np.ndarray:
    """A (dim, size) standard Gaussian matrix A from the stream ("random-linear-code", dim, size,
    draw): the random linear code z = x* A of ``size`` units (float64)."""
    g = generator("random-linear-code", dim, size, draw)
    return torch.randn((dim, size), generator=g, dtype=torch.float64).numpy()


def code_rows(
    codes, labels, x, codes_test, x_test, seed: int, dci_estimators: int, penalty: float
) -> list[dict]:
    """The sample-based metrics and the OOD / ID r² of one representation, as (metric, value)
    rows (``sample_metric_rows`` on the scoring sample, then ``task_ood_rows``)."""
    rows = sample_metric_rows(codes, labels, x, seed, dci_estimators)
    return rows + task_ood_rows(codes, x, codes_test, x_test, penalty)


def floor_rows(
    x: np.ndarray,
    x_test: np.ndarray,
    labels: np.ndarray,
    sizes,
    dci_estimators: int,
    penalty: float,
    draws: int = FLOOR_DRAWS,
) -> list[dict]:
    """The floors: every metric of the random linear codes x* A (``random_code_matrix``) of each
    distinct code size in ``sizes``, ``draws`` draws each; rows (seed = draw, code_size, metric,
    value, family = ``FLOOR_FAMILY``). No noise is added: the code holds x* exactly."""
    from disentangle.progress import Progress

    x, x_test = np.asarray(x, dtype=np.float64), np.asarray(x_test, dtype=np.float64)
    rows = []
    sizes = sorted({int(m) for m in sizes})
    progress = Progress("floors (code sizes x draws)", len(sizes) * draws)
    done = 0
    for size in sizes:
        for draw in range(draws):
            progress.update(done)
            done += 1
            a = random_code_matrix(x.shape[1], size, draw)
            scores = code_rows(x @ a, labels, x, x_test @ a, x_test, draw, dci_estimators, penalty)
            rows += [{"seed": draw, **r, "family": FLOOR_FAMILY, "code_size": size} for r in scores]
    progress.update(done)
    return rows


def dsprites_rows(
    model, n_points: int, seed: int, dci_estimators: int, intervention: dict, source=None
) -> list[dict]:
    """All scores of a generative model on dSprites (frames from ``source``, a
    ``DSpritesSource``; default: the procedural renderer)."""
    from disentangle.data import dsprites
    from disentangle.generative.train import factor_representation

    rng = np.random.default_rng(derive_seed("dsprites-eval", seed))
    factors = dsprites.sample_factors(n_points, rng)
    represent = factor_representation(model, source=source)
    codes = represent(factors)
    values = dsprites.factor_values(factors)
    rows = sample_metric_rows(codes, factors, values[:, 1:], seed, dci_estimators)
    # the factors the metrics see: shape, scale, orientation, x, y (colour has one value)
    sampler = dsprites.sample_factors
    for name, fn in (("beta_vae", beta_vae_score), ("factor_vae", factor_vae_score)):
        result = fn(represent, sampler, len(dsprites.FACTOR_SIZES), seed=seed, **intervention)
        rows += [{"metric": f"{name}.{key}", "value": float(v)} for key, v in result.items()]
    return rows


@torch.no_grad()
def traversal_table(model, base_factors: np.ndarray, steps: int, limit: float) -> pd.DataFrame:
    """Latent traversals (the β-VAE paper's figure): encode one dSprites frame, vary each latent
    over linspace(−limit, limit, steps) with the others at the posterior mean, decode. InfoGAN:
    vary each continuous code over [−1, 1] with fixed noise. One row per (latent, step) with the
    decoded image flattened (64 × 64 probabilities)."""
    from disentangle.generative.infogan import InfoGAN
    from disentangle.generative.sources import DSpritesSource

    device = next(model.parameters()).device
    x = DSpritesSource.observations(base_factors[None]).to(device)
    values = np.linspace(-limit, limit, steps)
    rows = []
    if isinstance(model, InfoGAN):
        # drawn on the CPU (the same codes on every device), then moved to the model's
        codes = model.sample_codes(1, generator("traversal", 0))
        noise, c_cont, c_cat = (t.to(device) for t in codes)
        values = np.linspace(-1.0, 1.0, steps)
        for i in range(model.n_continuous):
            for j, v in enumerate(values):
                c = c_cont.clone()
                c[0, i] = float(v)
                img = model.generate(noise, c, c_cat)[0, 0]
                rows.append(
                    {
                        "latent": i,
                        "step": j,
                        "value": float(v),
                        "kl": float("nan"),
                        "image": img.flatten().cpu().numpy(),
                    }
                )
        return pd.DataFrame(rows)
    mean, logvar = model.encode(x)
    # per-latent KL of this frame's posterior: informative latents have large KL (sorting key)
    kl = 0.5 * (mean**2 + logvar.exp() - logvar - 1)[0]
    for i in range(mean.shape[1]):
        for j, v in enumerate(values):
            z = mean.clone()
            z[0, i] = float(v)
            img = torch.sigmoid(model.decoder(z))[0, 0]
            rows.append(
                {
                    "latent": i,
                    "step": j,
                    "value": float(v),
                    "kl": float(kl[i]),
                    "image": img.flatten().cpu().numpy(),
                }
            )
    return pd.DataFrame(rows)
