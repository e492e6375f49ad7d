"""Out-of-distribution regression generalisation (paper Appendix A.2; Johnston & Fusi 2023).

Freeze a trained network, take its hidden state at the last step of the trial (the decision step,
after all the noisy evidence), and fit a linear decoder Linear(H→D) of the latent x* on trials from
every region but one; report r² on the held-out region. For D = 2 the regions are the quadrants
(4 folds). The in-distribution (ID) variant fits on all regions and tests on each in turn.

r² is the paper's, 1 − mse / Var_U with Var_U = 1/12 exactly (the variance of U(−½, ½), i.e. of the
*global* latent distribution; the authors estimated it from 1e5 draws). It is not sklearn's R².

The decoders, their settings and the states they read live in ``metrics.decoders`` (re-exported
here): ``adam`` (default, the paper's protocol) and ``ridge`` (closed form). They differ by a few
hundredths of r² (the Adam decoder is implicitly regularised) on most networks, but not where the
states are large: on the non-leaky RNN's integrated rates the Adam decoder does not settle within
the paper's budget. So the workflow's OOD job fits the configured decoder and, on the same final
states, the ridge decoder too (``ood_by_decoder``; tables ``ood_r2`` and ``ood_r2_ridge``); Fig. 3b
draws the second beside the first. This module keeps the metric itself: the r² definition, the
fold plan (which trials each decoder is fitted on and tested on) and the tidy rows.

Every function taking ``settings`` accepts an ``OODSettings`` or the plain mapping
``config['metrics']['ood']``, parsed once on entry (``OODSettings.of``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from disentangle.metrics.decoders import (
    DECODERS,
    PAPER_BUDGET,
    AdamSettings,
    OODSettings,
    RidgeSettings,
    decoder_budget,
    final_states,
    fit_adam,
    fit_decoders,
    fit_ridge,
)
from disentangle.prior import VAR_U, information_ceiling
from disentangle.tasks.evidence import TaskSpec, fold_masks

__all__ = [
    # the metric
    "r2_paper",
    "ood_generalisation",
    "ood_by_decoder",
    "ood_rows",
    "information_ceiling",
    "VAR_U",
    # re-exported from metrics.decoders, their home since the decoders have their own module
    "DECODERS",
    "PAPER_BUDGET",
    "AdamSettings",
    "OODSettings",
    "RidgeSettings",
    "decoder_budget",
    "final_states",
    "fit_adam",
    "fit_ridge",
]


def r2_paper(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − mse/(1/12) over the last two axes (samples × coordinates): (..., n, D) → (...)."""
    return 1.0 - ((pred - target) ** 2).mean(dim=(-2, -1)) / VAR_U


def _fit_plan(x_train: torch.Tensor, x_test: torch.Tensor):
    """Decoder fits per network: the OOD folds (train outside the region, test inside) and the ID
    fit (train on everything, test on each region): fold names, train masks, test masks."""
    names, train_regions = fold_masks(x_train)
    _, test_regions = fold_masks(x_test)
    train_masks = torch.cat([~train_regions, torch.ones_like(train_regions[:1])])  # OOD folds + ID
    return names, train_masks, test_regions


def ood_generalisation(
    model,
    encoder,
    task: TaskSpec,
    members: list[tuple[int, int]],
    evaluation: dict,
    settings: OODSettings | Mapping,
) -> list[dict]:
    """OOD and ID r² of every network of an ensemble, as tidy rows, with the decoder ``settings``
    name (``OODSettings``, or ``config['metrics']['ood']`` as a mapping). Row keys: n_tasks,
    seed, fold, held_out, fit, metric, value."""
    settings = OODSettings.of(settings)
    decoder = settings.decoder
    return ood_by_decoder(model, encoder, task, members, evaluation, settings, [decoder])[decoder]


def ood_by_decoder(
    model,
    encoder,
    task: TaskSpec,
    members: list[tuple[int, int]],
    evaluation: dict,
    settings: OODSettings | Mapping,
    decoders: list[str],
) -> dict[str, list[dict]]:
    """``ood_generalisation``'s rows for each of several decoders, fitted to the same final states
    (the networks run once): {decoder: rows}. Each decoder reads its own block of ``settings``.

    The workflow fits the configured decoder and, beside it, the closed-form ridge decoder: the
    paper's Adam protocol is fragile where the states are large (the non-leaky RNN's integrated
    rates), and the closed form shows what a linear read-out of the same states can reach.
    """
    unknown = [d for d in decoders if d not in DECODERS]
    if unknown:
        raise ValueError(f"decoders {unknown}: expected each to be one of {DECODERS}")
    settings = OODSettings.of(settings)
    per_decoder = {d: settings.with_decoder(d) for d in dict.fromkeys(decoders)}  # checked first
    x_train, x_test = evaluation["x_train"], evaluation["x_test"]
    train_states = final_states(model, encoder, task, x_train, evaluation["noise_train"])
    test_states = final_states(model, encoder, task, x_test, evaluation["noise_test"])
    return {
        d: ood_rows(train_states, x_train, test_states, x_test, members, s)
        for d, s in per_decoder.items()
    }


def ood_rows(
    train_states: torch.Tensor,
    x_train: torch.Tensor,
    test_states: torch.Tensor,
    x_test: torch.Tensor,
    members: list[tuple[int, int]],
    settings: OODSettings | Mapping,
) -> list[dict]:
    """OOD and ID r² rows from any representation: states (K, n, H) of K networks (or the codes of
    K models) for the training and test trials, latents x (n, D), the decoder ``settings`` name
    (``OODSettings`` or a mapping). See ``ood_generalisation``."""
    settings = OODSettings.of(settings)
    n_fits = settings.n_fits
    names, train_masks, test_regions = _fit_plan(x_train, x_test)
    n_folds = len(names)
    weight, bias = fit_decoders(settings, train_states, x_train, train_masks, members)
    test_states = test_states.cpu()
    rows = []
    for i, (n_tasks, seed) in enumerate(members):
        # pred[m, j] = decoder (m, j) applied to every test trial: (M, n_fits, n_test, D)
        pred = torch.einsum("nh,mjhd->mjnd", test_states[i], weight[i]) + bias[i][:, :, None]
        for q in range(n_folds):
            region = test_regions[q]
            if not region.any():
                continue
            target = x_test[region]
            ood = r2_paper(pred[q][:, region], target)  # fold q's decoders on region q
            idd = r2_paper(pred[n_folds][:, region], target)  # the ID decoders on region q
            for j in range(n_fits):
                for metric, value in (("ood_r2", ood[j]), ("id_r2", idd[j])):
                    rows.append(
                        {
                            "n_tasks": n_tasks,
                            "seed": seed,
                            "fold": q,
                            "held_out": names[q],
                            "fit": j,
                            "metric": metric,
                            "value": float(value),
                        }
                    )
    return rows
