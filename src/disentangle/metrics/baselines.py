"""Baselines for the OOD regression r²: what the task reaches without a trained network.

A trained network's OOD r² means little alone: the mixing encoder f is nearly affine on the latent
square, so the input may already be a linearly decodable code. The baselines use the experiment's
own encoders, evaluation trials and folds and, where a decoder is fitted, the same decoder protocol
as the networks (``metrics.ood``: the configured decoder and the closed-form ridge decoder):

- ``raw_input``: the decoder on the noiseless observations f(x*) (no noise, no time): how linear f
  is. An upper reference, not an attainable one (the networks only ever see noisy evidence).
- ``integrator``: the decoder on the time average of each evaluation trial's noisy inputs
  (1/T)·Σ_t f(x* + ε_t) over the stimulus steps: a linear integrator with no training at all.
  With the ``input`` noise kind the average includes the channels' noise; with ``units`` noise
  the inputs are noiseless and it equals ``raw_input`` (the network's own noise is not there).
- ``untrained``: every network of the ensemble at its initial weights (the same ``init`` streams as
  training), final state through the same decoder.
- ``nonlinearity_index`` (a metric of the ``raw_input`` rows, decoder ``none``, one per encoder
  seed): the share of f(x*)'s variance on the test latents that no affine map explains
  (``nonlinearity_index``), the x of the encoder panels.
- ``bayes``: the Bayes-optimal observer of the latent evidence x* + ε_t itself (it inverts f): the
  posterior mean under the independent uniform prior, a truncated-normal mean per coordinate from
  the running mean of T samples. No decoder is fitted; its r² on each region is the estimate's.
  With correlated latents (Fig. S3b) the prior it assumes ignores the correlation. Not computed
  for the ``input`` and ``units`` noise kinds, which put no noise on x*: the optimal observer of
  f(x*) plus channel noise has no closed form, and with noise only in the network's units it
  reads x* exactly (r² = 1).

``raw_input``, ``integrator`` and ``bayes`` do not depend on the task count: they are computed once
per encoder seed, with ``n_tasks`` = 0 and, for the Adam decoder, the largest budget any network
of the experiment gets (the most favourable to the baseline, so a margin over it is conservative).
``untrained`` is computed per network (its initial weights depend on N).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import torch

from disentangle.metrics.decoders import OODSettings, final_states
from disentangle.metrics.ood import ood_rows, r2_paper
from disentangle.tasks.encoder import MixingEncoder
from disentangle.tasks.evidence import TaskSpec, fold_masks, input_noise
from disentangle.tasks.spec import LATENT_NOISE_KINDS

BASELINES = ("raw_input", "integrator", "untrained", "bayes")


@torch.no_grad()
def raw_features(encoder, x: torch.Tensor, k: int) -> torch.Tensor:
    """Noiseless observations f(x*) of each of the K encoder members: x (n, D) → (K, n, F)."""
    return encoder(x.unsqueeze(0).expand(k, -1, -1))


@torch.no_grad()
def integrated_features(
    encoder,
    x: torch.Tensor,
    noise: torch.Tensor,
    k: int,
    chunk: int = 1024,
    task: TaskSpec | None = None,
) -> torch.Tensor:
    """Time average of the noisy encoded evidence over the stimulus steps, (1/T)·Σ_t f(x* + ε_t):
    x (n, D), noise (n, T, D) → (K, n, F), in chunks of trials (the (K, n, T, F) block would not
    fit). With the ``input`` noise kind (``task``) the channels' own noise is averaged in too: the
    integrator sees the inputs the networks see."""
    out = []
    for start in range(0, x.shape[0], chunk):
        xs = x[start : start + chunk]
        ns = noise[start : start + chunk]
        evidence = (xs.unsqueeze(1) + ns).expand(k, -1, -1, -1)  # (K, m, T, D)
        features = encoder(evidence).mean(dim=2)
        if task is not None and task.noise == "input":
            channels = input_noise(task, xs.unsqueeze(0), task.input_size)[0]  # (m, T, 1 + F)
            features = features + channels[:, task.stimulus_slice, 1:].mean(dim=1)
        out.append(features)
    return torch.cat(out, dim=1)


def nonlinearity_index(features: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The share of an encoder's output variance that no affine map of the latents explains:
    features (K, n, F) of latents x (n, D) → (K,), 1 − R² of the least-squares affine fit pooled
    over the F units (residual sum of squares over total). 0 for an affine f; the paper's ReLU f
    has a few per cent on the latent square. In float64."""
    design = torch.cat([x.double(), torch.ones((x.shape[0], 1), dtype=torch.float64)], dim=1)
    f = features.double().to(design.device)
    fit = torch.linalg.lstsq(design.expand(f.shape[0], -1, -1), f).solution
    residual = f - design @ fit
    total = (f - f.mean(dim=1, keepdim=True)).pow(2).sum(dim=(1, 2)).clamp_min(1e-300)
    return residual.pow(2).sum(dim=(1, 2)) / total


def bayes_estimate(x: torch.Tensor, noise: torch.Tensor, noise_sd: float) -> torch.Tensor:
    """Posterior mean of x* under U(−½, ½)^D from T samples x* + ε_t (noise (n, T, D))."""
    from disentangle.theory.bayes import truncated_normal_moments

    t = noise.shape[1]
    mean = (x.double().unsqueeze(1) + noise.double()).mean(dim=1)
    return truncated_normal_moments(mean, noise_sd / math.sqrt(t))[0].float()


def bayes_rows(x_test: torch.Tensor, estimate: torch.Tensor, seeds: list[int]) -> list[dict]:
    """r² of a fixed estimate on each held-out region (OOD = ID: nothing is fitted)."""
    names, regions = fold_masks(x_test)
    rows = []
    for q, name in enumerate(names):
        region = regions[q]
        if not region.any():
            continue
        value = float(r2_paper(estimate[region], x_test[region]))
        for seed in seeds:
            for metric in ("ood_r2", "id_r2"):
                rows.append(
                    {
                        "n_tasks": 0,
                        "seed": seed,
                        "fold": q,
                        "held_out": name,
                        "fit": 0,
                        "metric": metric,
                        "value": value,
                    }
                )
    return rows


def _per_seed(members: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Distinct seeds in member order, and the index of one member per seed."""
    seeds, index = [], []
    for i, (_, seed) in enumerate(members):
        if seed not in seeds:
            seeds.append(seed)
            index.append(i)
    return seeds, index


def _seed_settings(settings: OODSettings, members: list[tuple[int, int]]) -> OODSettings:
    """The decoder settings for the per-seed baselines: the Adam budget of the experiment's most
    generous task count (its smallest N under the paper's budget)."""
    if settings.adam is None:
        return settings
    adam = dataclasses.replace(
        settings.adam, n_batches=max(settings.adam.budget(n) for n, _ in members)
    )
    return dataclasses.replace(settings, adam=adam)


def baseline_rows(
    model,
    encoders: list[dict],
    task: TaskSpec,
    members: list[tuple[int, int]],
    evaluation: dict,
    settings: OODSettings | Mapping,
    decoders: list[str],
) -> list[dict]:
    """Tidy rows of every baseline: keys baseline, decoder, n_tasks, seed, fold, held_out, fit,
    metric, value. ``model`` is the ensemble at its initial weights, ``encoders`` the members'
    encoder parameters (member order, as in the ingredients), ``settings`` the decoder settings
    (``OODSettings``, or ``config['metrics']['ood']`` as a mapping) and ``decoders`` the decoders
    fitted to each representation."""
    settings = OODSettings.of(settings)
    x_train, x_test = evaluation["x_train"], evaluation["x_test"]
    noise_train, noise_test = evaluation["noise_train"], evaluation["noise_test"]
    device = next(model.parameters()).device
    seeds, first = _per_seed(members)
    per_seed = MixingEncoder.from_members([encoders[i] for i in first], task.encoder).to(device)
    everyone = MixingEncoder.from_members(encoders, task.encoder).to(device)
    seed_members = [(0, s) for s in seeds]
    seed_settings = _seed_settings(settings, members)
    k = len(seeds)
    rows: list[dict] = []

    def fitted(groups, mem, cfg: OODSettings):
        """Fit the decoders to several representations of the same members in one call (stacked
        along the member axis; every fit is independent, so the rows equal separate calls')."""
        train = torch.cat([g[1] for g in groups])
        test = torch.cat([g[2] for g in groups])
        for d in dict.fromkeys(decoders):
            found = ood_rows(train, x_train, test, x_test, mem * len(groups), cfg.with_decoder(d))
            per_group, rest = divmod(len(found), len(groups))
            assert rest == 0, "every member gives the same number of rows"
            for i, (baseline, _, _) in enumerate(groups):
                part = found[i * per_group : (i + 1) * per_group]
                rows.extend({"baseline": baseline, "decoder": d, **r} for r in part)

    xtr, xte = x_train.to(device), x_test.to(device)
    ntr, nte = noise_train.to(device), noise_test.to(device)
    fitted(
        [
            ("raw_input", raw_features(per_seed, xtr, k), raw_features(per_seed, xte, k)),
            (
                "integrator",
                integrated_features(per_seed, xtr, ntr, k, task=task),
                integrated_features(per_seed, xte, nte, k, task=task),
            ),
        ],
        seed_members,
        seed_settings,
    )
    train_states = final_states(model, everyone, task, x_train, noise_train)
    test_states = final_states(model, everyone, task, x_test, noise_test)
    fitted([("untrained", train_states, test_states)], members, settings)
    index = nonlinearity_index(raw_features(per_seed, xte, k).cpu(), x_test)
    rows.extend(
        {"baseline": "raw_input", "decoder": "none", "n_tasks": 0, "seed": seed, "fold": -1,
         "held_out": "none", "fit": 0, "metric": "nonlinearity_index", "value": float(v)}
        for seed, v in zip(seeds, index.tolist(), strict=True)
    )  # fmt: skip
    if task.noise in LATENT_NOISE_KINDS:  # the observer of noisy latent evidence
        estimate = bayes_estimate(x_test, noise_test, task.noise_sd)
        rows.extend(
            {"baseline": "bayes", "decoder": "none", **r}
            for r in bayes_rows(x_test, estimate, seeds)
        )
    return rows
