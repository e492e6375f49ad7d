"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising"), as
google-research/disentanglement_lib (dlib ``factor_vae.py``) computes it.

1. Global variances (``ddof=1``) of each code dimension over ``num_variance_estimate=10000``
   random observations; dimensions with sqrt(variance) < ``prune_threshold=0.05`` (dlib's study
   setting) are pruned. If none survives every score is 0.
2. One vote: pick k uniformly; draw ``batch_size=64`` factor vectors and set factor k in all of
   them to the first vector's value; represent; the per-dimension variance (``ddof=1``) divided by
   the global variance, over active dimensions; the vote is (k, argmin).
3. ``num_train=10000`` votes build a majority-vote classifier (for each dimension, the factor it
   voted for most); ``train_accuracy`` = sum of the winning counts / number of votes;
   ``eval_accuracy`` applies that classifier to ``num_eval=5000`` new votes.
A rotated noise-free code still scores high (reference notes: about 0.9). Chance is about 1/K.

Interface as ``beta_vae_score``: ``represent(factors) -> (n, n_codes)`` floats and
``sample_factors(n, rng) -> (n, n_factors)`` int labels. Sampling (``factor_vae_votes``) returns
per-vote variances; the math (``factor_vae_accuracy``) works on those arrays.

Differences from dlib, and why: ``num_active_dims`` is the number of dimensions that survive
pruning (dlib reports all dimensions, a bug noted in the reference); a dimension with global
variance exactly 0 is always pruned, even with ``prune_threshold=0`` (dlib would divide 0 by 0);
``represent`` is called on up to ``chunk_rows`` rows at once; draws come from
``numpy.random.default_rng`` seeded from ``seed``. Ties in argmin/argmax go to the lowest index.
"""

from __future__ import annotations

import numpy as np

from disentangle.metrics.beta_vae import (
    Represent,
    SampleFactors,
    check_sampling_args,
    draw_factors,
    represent_checked,
)
from disentangle.seeding import derive_seed


def factor_vae_votes(
    represent: Represent,
    sample_factors: SampleFactors,
    n_factors: int,
    n_votes: int,
    rng: np.random.Generator,
    *,
    batch_size: int = 64,
    chunk_rows: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_votes`` fixed-factor batches: per-batch code variances (n_votes, n_codes), labels.

    In the batch of vote j, factor ``labels[j]`` takes the first row's value in every row.
    """
    per_call = max(1, int(chunk_rows) // int(batch_size))
    variances, labels = [], []
    done = 0
    while done < n_votes:
        m = min(per_call, n_votes - done)
        k = rng.integers(n_factors, size=m)
        f = draw_factors(sample_factors, m * batch_size, n_factors, rng)
        f = f.reshape(m, batch_size, n_factors)
        f[np.arange(m), :, k] = f[np.arange(m), 0, k][:, None]
        codes = represent_checked(represent, f.reshape(m * batch_size, n_factors))
        variances.append(codes.reshape(m, batch_size, -1).var(axis=1, ddof=1))
        labels.append(k)
        done += m
    return np.concatenate(variances), np.concatenate(labels)


def factor_vae_accuracy(
    global_variance: np.ndarray,
    variances_train: np.ndarray,
    labels_train: np.ndarray,
    variances_eval: np.ndarray,
    labels_eval: np.ndarray,
    *,
    n_factors: int,
    prune_threshold: float = 0.05,
) -> dict[str, float]:
    """Majority-vote accuracies from per-vote variances; the FactorVAE math on arrays.

    Returns ``train_accuracy``, ``eval_accuracy`` and ``num_active_dims`` (surviving dimensions).
    """
    global_variance = np.asarray(global_variance, dtype=np.float64)
    active = (np.sqrt(global_variance) >= float(prune_threshold)) & (global_variance > 0)
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0.0}
    scale = global_variance[active]
    dim_train = np.argmin(variances_train[:, active] / scale, axis=1)
    dim_eval = np.argmin(variances_eval[:, active] / scale, axis=1)
    table = np.zeros((int(n_factors), int(active.sum())), dtype=np.int64)
    np.add.at(table, (labels_train, dim_train), 1)
    classifier = np.argmax(table, axis=0)  # dimension -> the factor it voted for most
    return {
        "train_accuracy": float(table.max(axis=0).sum() / labels_train.size),
        "eval_accuracy": float(np.mean(classifier[dim_eval] == labels_eval)),
        "num_active_dims": float(active.sum()),
    }


def factor_vae_score(
    represent: Represent,
    sample_factors: SampleFactors,
    n_factors: int,
    *,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    chunk_rows: int = 4096,
) -> dict[str, float]:
    """dlib's FactorVAE score: how often the least-varying (normalised) code dimension names the
    factor held fixed. Keys ``train_accuracy``, ``eval_accuracy``, ``num_active_dims``.
    """
    check_sampling_args(
        n_factors,
        batch_size,
        chunk_rows,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance_estimate,
    )
    if float(prune_threshold) < 0:
        raise ValueError(f"prune_threshold = {prune_threshold}: expected a number >= 0")
    rng = np.random.default_rng(derive_seed("metrics.factor_vae", seed))
    sample = draw_factors(sample_factors, int(num_variance_estimate), n_factors, rng)
    global_variance = represent_checked(represent, sample).var(axis=0, ddof=1)
    kwargs = {"batch_size": int(batch_size), "chunk_rows": int(chunk_rows)}
    train = factor_vae_votes(represent, sample_factors, n_factors, int(num_train), rng, **kwargs)
    evals = factor_vae_votes(represent, sample_factors, n_factors, int(num_eval), rng, **kwargs)
    return factor_vae_accuracy(
        global_variance, *train, *evals, n_factors=n_factors, prune_threshold=prune_threshold
    )
