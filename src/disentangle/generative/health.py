"""Health checks of a trained generative model: did training do what the method needs?

A disentanglement score is only worth reading if the model under it trained: a VAE whose
posterior collapsed onto the prior, an AnnealedVAE whose capacity never reached its target, a
FactorVAE whose discriminator sees nothing (or everything), an InfoGAN whose discriminator won
at once all score something, and the number means nothing. These checks look at a trained model
(``train.load_generative``), its training history (the rows ``train.train_generative`` logs every
``log_every`` steps: window means of the logged numbers) and a sample of its data, and return
tidy rows ``{model, check, value, threshold, healthy, reason}``.

Checks, per method (``health_rows`` dispatches on the method):

- every VAE (``vae``, ``beta_vae``, ``annealed_vae``, ``beta_tcvae``, ``factor_vae``, ``ivae``):
  ``reconstruction_vs_scale`` (per-image squared error of the decoded posterior mean over the
  images' own energy E‖x‖², i.e. against predicting zeros), ``reconstruction_vs_mean_image``
  (the same error over E‖x − x̄‖², the error of predicting every pixel by the data mean: a
  collapsed VAE decodes ≈ the mean image and scores ≈ 1), ``active_latents`` (Burda et al. 2016's
  "active units": Var_x E_q[z_j] > 0.01, the standard criterion) and ``active_latents_kl``
  (KL_j = E_x KL(q(z_j | x) ‖ p(z_j)) > 0.01 nats), and one informational ``kl_latent[j]`` row per
  latent. The per-latent rows are always ``healthy``: spare latents are expected (dSprites has 5
  factors, the models 10 latents); only the counts carry a verdict.
- ``annealed_vae``: ``capacity_schedule`` (training steps / iteration_threshold: below 1 the target
  C never reached c_max) and ``capacity_reached`` (the last logged KL / c_max).
- ``factor_vae``: ``discriminator_accuracy`` on q(z) against its dimension-wise shuffle; at chance
  the TC estimate is ≈ 0 and gives the encoder no signal, saturated it is unbounded.
- ``infogan``: ``discriminator_loss_tail`` and ``generator_loss_tail`` (means over the last 10 % of
  the history: a discriminator that won drives its loss to ≈ 0 and the generator's up),
  ``mi_continuous_fraction`` / ``mi_categorical_fraction`` (the information bound L_I between its
  chance value, 0, and its maximum, 1), ``traversal_codes_moving`` (how many continuous codes
  change the generated image when traversed over [−1, 1]) with informational
  ``traversal_change[i]`` rows (each code's mean absolute change, relative to the mean absolute
  difference of two random data points).
- ``ivae``: ``mcc`` of the posterior means against the true sources (``metrics`` registry "mcc",
  Pearson, as Khemakhem et al. 2020).

``HealthData`` holds the evaluation sample: observations, the auxiliary u (iVAE) and the true
sources if known (iVAE). ``sample_health_data`` draws it from a training data source.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from disentangle.generative.base import GenerativeModel
from disentangle.generative.infogan import InfoGAN, information_bound_limits
from disentangle.generative.ivae import IVAE
from disentangle.generative.losses import annealed_capacity, permute_dims
from disentangle.generative.vae import VAE, AnnealedVAE, FactorVAE
from disentangle.seeding import generator

HEALTH_COLUMNS = ("model", "check", "value", "threshold", "healthy", "reason")

# Thresholds, one line of justification each.
#: a latent whose posterior mean varies less than this over the data is inactive (Burda et al.
#: 2016, "Importance Weighted Autoencoders", the "active units" criterion)
ACTIVE_VARIANCE = 0.01
#: a latent with less KL than this (nats, averaged over the data) carries no information
#: (the same 0.01 cut-off on the KL scale; disentanglement_lib-style "active" latents)
ACTIVE_KL_NATS = 0.01
#: no active latent at all is posterior collapse: the code says nothing about the image
MIN_ACTIVE_LATENTS = 1
#: a model that reconstructs less than a quarter of the data's deviation from its mean image
#: is close to the collapsed model that decodes the mean image (ratio ≈ 1)
RECONSTRUCTION_VS_MEAN_IMAGE_MAX = 0.75
#: the reconstruction error must be below the images' own energy (the error of predicting 0)
RECONSTRUCTION_VS_SCALE_MAX = 0.75
#: the target capacity must have reached c_max by the end of training (schedule ≥ 1)
CAPACITY_SCHEDULE_MIN = 1.0
#: with γ = 1000 the KL tracks its target closely (Burgess et al. 2018); within 20 % counts
CAPACITY_TOLERANCE = 0.2
#: FactorVAE's discriminator: at 0.55 it is 4σ above chance for ~1000 points (a TC signal),
#: above 0.99 it separates q(z) from its shuffle perfectly (TC estimate unbounded)
FACTOR_ACCURACY_RANGE = (0.55, 0.99)
#: the share of the history, at its end, that the GAN balance checks average over
TAIL_FRACTION = 0.1
#: a discriminator loss (sum of the real and fake cross-entropies, 2·log 2 ≈ 1.39 at balance)
#: below 0.05 means D(x) ≈ 1 and D(G(z)) ≈ 0 on about every example: the discriminator won
GAN_DISCRIMINATOR_LOSS_MIN = 0.05
#: a non-saturating generator loss −log D(G(z)) above 5 means D gives fakes < 0.7 %: diverging
GAN_GENERATOR_LOSS_MAX = 5.0
#: the information bound must recover at least 10 % of the way from chance to its maximum
#: (for unit-variance Gaussian Q this is the codes' mean R² from Q's estimate)
MI_MIN_FRACTION = 0.1
#: a code moves the image if traversing it changes it by ≥ 5 % of the typical difference
#: between two data points (mean absolute difference of random pairs)
TRAVERSAL_MIN_RELATIVE = 0.05
#: at least one continuous code must move the image (none: the codes are ignored)
MIN_MOVING_CODES = 1
#: the iVAE paper's identifiability claim (and this project's, config "ivae" panel): MCC > 0.8
IVAE_MCC_MIN = 0.8

VAE_METHODS = ("vae", "beta_vae", "annealed_vae", "beta_tcvae", "factor_vae", "ivae")


@dataclass(frozen=True)
class HealthData:
    """The evaluation sample: observations x (n, …), the auxiliary u (n, k) for the iVAE and
    the true sources (n, K) where known (the iVAE synthetic data)."""

    x: torch.Tensor
    u: torch.Tensor | None = None
    truth: np.ndarray | None = None


def sample_health_data(
    source, n: int = 1000, seed: int = 0, truth: np.ndarray | None = None
) -> HealthData:
    """``n`` observations (and u) drawn from a data source (``sources.DSpritesSource``,
    ``sources.ArraySource``) with a seeded generator."""
    x, u = source.sample(int(n), np.random.default_rng(seed))
    return HealthData(x=x, u=u, truth=truth)


def row(
    name: str, check: str, value: float, threshold: float, healthy: bool, reason: str
) -> dict[str, object]:
    """One tidy row."""
    return {
        "model": name,
        "check": check,
        "value": float(value),
        "threshold": float(threshold),
        "healthy": bool(healthy),
        "reason": reason,
    }


def _n_steps(info: dict, history: Sequence[dict]) -> int:
    """Training steps: the file's ``info.n_steps``, else the last history row's step."""
    inner = info.get("info", info) if isinstance(info, dict) else {}
    if "n_steps" in inner:
        return int(inner["n_steps"])
    if history:
        return int(history[-1]["step"])
    raise ValueError("the number of training steps: expected info['info']['n_steps'] or a history")


def _tail_mean(history: Sequence[dict], key: str, n_steps: int) -> float:
    """Mean of ``key`` over the rows of the last ``TAIL_FRACTION`` of training (at least one)."""
    rows = [r for r in history if key in r]
    if not rows:
        return math.nan
    start = (1.0 - TAIL_FRACTION) * n_steps
    tail = [r[key] for r in rows if r["step"] > start] or [rows[-1][key]]
    return float(np.mean(tail))


def _as_eval(model: GenerativeModel):
    """Context: the model in eval mode (batch-norm running statistics, no power iterations)."""

    class _Eval:
        def __enter__(self):
            self.was = model.training
            model.eval()

        def __exit__(self, *exc):
            model.train(self.was)

    return _Eval()


# ---------------------------------------------------------------- VAE family


@torch.no_grad()
def vae_rows(model: VAE, data: HealthData, name: str) -> list[dict]:
    """Reconstruction against the data's scale and its mean image; KL per latent, active counts."""
    x = data.x.to(torch.float32)
    with _as_eval(model):
        mean, logvar = model.encode(x, data.u)
        out = model.decoder(mean)
        recon = torch.sigmoid(out) if model.likelihood == "bernoulli" else out
        if isinstance(model, IVAE):
            p_mean, p_logvar = model.prior(data.u)
        else:
            p_mean, p_logvar = torch.zeros_like(mean), torch.zeros_like(logvar)
    flat, flat_recon = x.flatten(1).double(), recon.flatten(1).double()
    error = ((flat - flat_recon) ** 2).sum(dim=1).mean().item()
    energy = (flat**2).sum(dim=1).mean().item()
    spread = ((flat - flat.mean(dim=0)) ** 2).sum(dim=1).mean().item()
    vs_scale = error / energy if energy > 0 else math.inf
    vs_mean = error / spread if spread > 0 else math.inf
    rows = [
        row(
            name,
            "reconstruction_vs_scale",
            vs_scale,
            RECONSTRUCTION_VS_SCALE_MAX,
            vs_scale <= RECONSTRUCTION_VS_SCALE_MAX,
            f"per-image squared error {error:.4g} over E‖x‖² = {energy:.4g} (predicting zeros)",
        ),
        row(
            name,
            "reconstruction_vs_mean_image",
            vs_mean,
            RECONSTRUCTION_VS_MEAN_IMAGE_MAX,
            vs_mean <= RECONSTRUCTION_VS_MEAN_IMAGE_MAX,
            f"per-image squared error {error:.4g} over E‖x − x̄‖² = {spread:.4g} (predicting the "
            "mean image; a collapsed posterior scores ≈ 1)",
        ),
    ]
    ratio = (logvar - p_logvar).exp()
    kl = 0.5 * (ratio + (mean - p_mean) ** 2 / p_logvar.exp() - 1.0 - logvar + p_logvar)
    kl_per_latent = kl.double().mean(dim=0)
    variance = mean.double().var(dim=0, unbiased=True)
    n_active_var = int((variance > ACTIVE_VARIANCE).sum())
    n_active_kl = int((kl_per_latent > ACTIVE_KL_NATS).sum())
    n_latent = mean.shape[1]
    rows += [
        row(
            name,
            "active_latents",
            n_active_var,
            MIN_ACTIVE_LATENTS,
            n_active_var >= MIN_ACTIVE_LATENTS,
            f"{n_active_var} of {n_latent} latents with Var_x E_q[z_j] > {ACTIVE_VARIANCE} "
            "(Burda et al. 2016 active units)" + ("" if n_active_var else ": posterior collapse"),
        ),
        row(
            name,
            "active_latents_kl",
            n_active_kl,
            MIN_ACTIVE_LATENTS,
            n_active_kl >= MIN_ACTIVE_LATENTS,
            f"{n_active_kl} of {n_latent} latents with KL > {ACTIVE_KL_NATS} nats"
            + ("" if n_active_kl else ": every posterior is the prior"),
        ),
    ]
    for j in range(n_latent):
        active = bool(kl_per_latent[j] > ACTIVE_KL_NATS)
        rows.append(
            row(
                name,
                f"kl_latent[{j}]",
                float(kl_per_latent[j]),
                ACTIVE_KL_NATS,
                True,
                f"{'active' if active else 'inactive'} (Var_x E_q[z] = {float(variance[j]):.3g}); "
                "informational: spare latents are expected, the counts carry the verdict",
            )
        )
    return rows


def annealed_rows(
    model: AnnealedVAE, history: Sequence[dict], n_steps: int, name: str, data_kl: float
) -> list[dict]:
    """Where the capacity schedule stands at the end, and the KL reached against c_max."""
    schedule = n_steps / model.iteration_threshold
    final_target = annealed_capacity(max(n_steps - 1, 0), model.c_max, model.iteration_threshold)
    kl_rows = [r for r in history if "kl" in r]
    final_kl = float(kl_rows[-1]["kl"]) if kl_rows else data_kl
    source = "the last logged training KL" if kl_rows else "the KL on the evaluation sample"
    reached = final_kl / model.c_max if model.c_max > 0 else math.inf
    low, high = 1.0 - CAPACITY_TOLERANCE, 1.0 + CAPACITY_TOLERANCE
    return [
        row(
            name,
            "capacity_schedule",
            schedule,
            CAPACITY_SCHEDULE_MIN,
            schedule >= CAPACITY_SCHEDULE_MIN,
            f"{n_steps} steps / iteration_threshold {model.iteration_threshold}: the target "
            f"ends at C = {final_target:.3g} of c_max = {model.c_max:.3g}",
        ),
        row(
            name,
            "capacity_reached",
            reached,
            low,
            low <= reached <= high,
            f"{source} {final_kl:.3g} nats over c_max = {model.c_max:.3g} (healthy within "
            f"[{low:.2f}, {high:.2f}])",
        ),
    ]


def _hits(p: torch.Tensor) -> float:
    """Share of right calls from the probability of the right class (a tie counts one half)."""
    return float(((p > 0.5).double() + 0.5 * (p == 0.5).double()).mean())


@torch.no_grad()
def factor_vae_rows(model: FactorVAE, data: HealthData, name: str, seed: int = 0) -> list[dict]:
    """The discriminator's accuracy on sampled codes against their dimension-wise shuffle."""
    g = generator("health-factor-vae", seed)
    with _as_eval(model):
        mean, logvar = model.encode(data.x.to(torch.float32))
        z = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=g)
        _, p_real = model.discriminator(z)
        _, p_perm = model.discriminator(permute_dims(z, g))
    accuracy = 0.5 * (_hits(p_real[:, 0]) + _hits(p_perm[:, 1]))
    low, high = FACTOR_ACCURACY_RANGE
    if accuracy < low:
        why = "at chance: the TC estimate is ≈ 0 and gives the encoder no signal"
    elif accuracy > high:
        why = "saturated: the TC estimate is unbounded"
    else:
        why = "a finite, non-zero TC estimate"
    return [
        row(
            name,
            "discriminator_accuracy",
            accuracy,
            low,
            low <= accuracy <= high,
            f"accuracy on q(z) against its shuffle ({len(z)} points each), healthy within "
            f"[{low}, {high}]: {why}",
        )
    ]


# ---------------------------------------------------------------- InfoGAN


def infogan_balance_rows(
    model: InfoGAN, history: Sequence[dict], n_steps: int, name: str
) -> list[dict]:
    """Discriminator/generator balance and the information bound over the end of training."""
    d_loss = _tail_mean(history, "discriminator_loss", n_steps)
    g_loss = _tail_mean(history, "generator_loss", n_steps)
    tail = f"mean over the last {TAIL_FRACTION:.0%} of {n_steps} steps"
    rows = [
        row(
            name,
            "discriminator_loss_tail",
            d_loss,
            GAN_DISCRIMINATOR_LOSS_MIN,
            d_loss >= GAN_DISCRIMINATOR_LOSS_MIN,
            f"{tail} (2·log 2 ≈ 1.39 at balance)"
            + (": the discriminator won" if not d_loss >= GAN_DISCRIMINATOR_LOSS_MIN else ""),
        ),
        row(
            name,
            "generator_loss_tail",
            g_loss,
            GAN_GENERATOR_LOSS_MAX,
            g_loss <= GAN_GENERATOR_LOSS_MAX,
            f"{tail} (log 2 ≈ 0.69 at balance)"
            + (": diverging" if not g_loss <= GAN_GENERATOR_LOSS_MAX else ""),
        ),
    ]
    limits = information_bound_limits(model.n_continuous, model.categories, model.q_fixed_std)
    parts = [("continuous", model.n_continuous > 0), ("categorical", bool(model.categories))]
    for part, present in parts:
        if not present:
            continue
        chance, best = limits[f"{part}_chance"], limits[f"{part}_max"]
        if not math.isfinite(best):  # a learned variance: measure against the entropy term
            best = model.n_continuous * math.log(2.0)
        value = _tail_mean(history, f"mi_{part}", n_steps)
        fraction = (value - chance) / (best - chance)
        rows.append(
            row(
                name,
                f"mi_{part}_fraction",
                fraction,
                MI_MIN_FRACTION,
                fraction >= MI_MIN_FRACTION,
                f"L_I {value:.3f} nats ({tail}) between chance {chance:.3f} and its maximum "
                f"{best:.3f}" + (": the codes carry nothing" if fraction < MI_MIN_FRACTION else ""),
            )
        )
    return rows


@torch.no_grad()
def traversal_changes(
    model: InfoGAN, n_bases: int = 64, seed: int = 0
) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    """Each continuous code's mean absolute change of G(z, c) between c_i = −1 and c_i = +1, the
    other codes and the noise fixed at ``n_bases`` random draws; also the two ends (n_codes,
    n_bases, …) for further measurements. Eval mode (batch-norm running statistics)."""
    g = generator("health-traversal", seed)
    noise, c_cont, c_cat = model.sample_codes(int(n_bases), g)
    changes, lows, highs = [], [], []
    with _as_eval(model):
        for i in range(model.n_continuous):
            ends = []
            for v in (-1.0, 1.0):
                c = c_cont.clone()
                c[:, i] = v
                ends.append(model.generate(noise, c, c_cat))
            changes.append(float((ends[1] - ends[0]).abs().mean()))
            lows.append(ends[0])
            highs.append(ends[1])
    if not changes:
        empty = torch.zeros((0,))
        return np.zeros(0), empty, empty
    return np.array(changes), torch.stack(lows), torch.stack(highs)


def data_scale(x: torch.Tensor, seed: int = 0) -> float:
    """Mean absolute difference between random pairs of data points: how much data differ."""
    g = generator("health-scale", seed)
    perm = torch.randperm(x.shape[0], generator=g)
    return float((x - x[perm]).abs().mean())


def infogan_traversal_rows(
    model: InfoGAN, data: HealthData, name: str, seed: int = 0
) -> list[dict]:
    """Whether traversing each continuous code changes the generated image."""
    if model.n_continuous == 0:
        return []
    changes, _, _ = traversal_changes(model, seed=seed)
    scale = data_scale(data.x.to(torch.float32), seed)
    relative = changes / scale if scale > 0 else np.full_like(changes, math.inf)
    moving = int((relative >= TRAVERSAL_MIN_RELATIVE).sum())
    rows = [
        row(
            name,
            "traversal_codes_moving",
            moving,
            MIN_MOVING_CODES,
            moving >= MIN_MOVING_CODES,
            f"{moving} of {model.n_continuous} continuous codes change the image by ≥ "
            f"{TRAVERSAL_MIN_RELATIVE:.0%} of the data's pairwise difference {scale:.4g}"
            + ("" if moving else ": the generator ignores its codes"),
        )
    ]
    for i, (change, rel) in enumerate(zip(changes, relative, strict=True)):
        rows.append(
            row(
                name,
                f"traversal_change[{i}]",
                float(rel),
                TRAVERSAL_MIN_RELATIVE,
                True,
                f"mean |G(c_{i}=+1) − G(c_{i}=−1)| = {change:.4g}, relative to the data's "
                f"pairwise difference; {'moves' if rel >= TRAVERSAL_MIN_RELATIVE else 'dead'} "
                "(informational: the count carries the verdict)",
            )
        )
    return rows


# ---------------------------------------------------------------- iVAE


@torch.no_grad()
def ivae_rows(model: IVAE, data: HealthData, name: str) -> list[dict]:
    """MCC of the posterior means with the true sources (the registry's "mcc", Pearson)."""
    from disentangle.generative.train import represent
    from disentangle.metrics.registry import score

    if data.truth is None or data.u is None:
        raise ValueError("iVAE health: expected data.truth (the true sources) and data.u")
    codes = represent(model, data.x, data.u)
    value = score("mcc", codes, np.asarray(data.truth, dtype=np.float64))["mcc"]
    return [
        row(
            name,
            "mcc",
            value,
            IVAE_MCC_MIN,
            value >= IVAE_MCC_MIN,
            f"mean matched |Pearson r| of {codes.shape[1]} codes with {data.truth.shape[1]} "
            "true sources (iVAE's identifiability; above the threshold the sources are "
            "recovered up to permutation and pointwise maps)",
        )
    ]


# ---------------------------------------------------------------- dispatch


def health_rows(
    model: GenerativeModel,
    info: dict,
    history: Sequence[dict],
    data: HealthData,
    name: str | None = None,
    seed: int = 0,
) -> list[dict]:
    """Every health check of ``model`` for its method.

    ``info`` is the dict ``load_generative`` returns beside the model (``method``, ``spec``,
    ``info.n_steps``); ``history`` its ``history`` rows (passed apart so that a history can be
    examined on its own); ``data`` the evaluation sample. ``name`` defaults to
    ``<method>-s<seed>``; ``seed`` seeds the checks' own draws.
    """
    method = info.get("method") or info.get("spec", {}).get("method")
    if method is None:
        raise ValueError("info: expected a 'method' (or spec.method) key")
    if name is None:
        name = f"{method}-s{info.get('spec', {}).get('seed', 0)}"
    n_steps = _n_steps(info, history)
    if method in VAE_METHODS:
        rows = vae_rows(model, data, name)
        if method == "annealed_vae":
            data_kl = sum(r["value"] for r in rows if r["check"].startswith("kl_latent["))
            rows += annealed_rows(model, history, n_steps, name, data_kl)
        if method == "factor_vae":
            rows += factor_vae_rows(model, data, name, seed)
        if method == "ivae":
            rows += ivae_rows(model, data, name)
        return rows
    if method == "infogan":
        return infogan_balance_rows(model, history, n_steps, name) + infogan_traversal_rows(
            model, data, name, seed
        )
    raise ValueError(f"method = {method!r}: no health checks for it")


def health_table(rows: Sequence[dict]) -> pd.DataFrame:
    """The rows as a table with the columns ``HEALTH_COLUMNS``, in order."""
    return pd.DataFrame(list(rows), columns=list(HEALTH_COLUMNS))


def is_healthy(rows: Sequence[dict]) -> bool:
    """True when every check passed (the informational rows always pass)."""
    return all(r["healthy"] for r in rows)
